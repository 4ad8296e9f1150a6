"""``asyncgate executions`` and ``asyncgate history`` against a live server: Standard executions from
ListExecutions, the sample app's Express executions rebuilt from their vended logs, and a history
printed as a table; a server that says no gets a one-line error and exit status 1."""

from __future__ import annotations

import json
import uuid

from tests.conftest import LiveServer
from tests.tooling.cli import asyncgate, until

ROLE = "arn:aws:iam::000000000000:role/cli"


def test_executions_lists_standard_and_express_with_status_and_duration(server: LiveServer) -> None:
    sfn = server.client("stepfunctions")
    name = f"cli-list-{uuid.uuid4().hex[:8]}"
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, name="first-run")["executionArn"]
    until(lambda: sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED")

    done = asyncgate("executions", "--state-machine", name, "--endpoint", server.endpoint)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()[:2]
    assert header.split() == ["STATE", "MACHINE", "EXECUTION", "STATUS", "STARTED", "(UTC)", "DURATION"]
    assert row.split()[:3] == [name, "first-run", "SUCCEEDED"] and row.endswith("s")

    status, _, _ = server.request(
        "POST", server.api_url(), body=b'{"via": "cli"}', headers={"Content-Type": "application/json"}
    )
    assert status == 200
    express = next(m for m in sfn.list_state_machines()["stateMachines"] if m["type"] == "EXPRESS")

    def express_rows() -> list[str]:
        out = asyncgate("executions", "--state-machine", express["name"], "--endpoint", server.endpoint)
        return [line for line in out.stdout.splitlines()[1:] if " SUCCEEDED " in line]

    assert until(express_rows), "the webhook's Express execution is not listed"


def test_history_prints_a_table(server: LiveServer) -> None:
    sfn = server.client("stepfunctions")
    name = f"cli-history-{uuid.uuid4().hex[:8]}"
    definition = json.dumps(
        {
            "StartAt": "Greet",
            "States": {
                "Greet": {"Type": "Pass", "Result": {"hello": "table"}, "Next": "Stop"},
                "Stop": {"Type": "Fail", "Error": "Told", "Cause": "asked to stop"},
            },
        }
    )
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    until(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING")

    done = asyncgate("history", arn, "--endpoint", server.endpoint)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["ID", "AT", "(UTC)", "+ELAPSED", "TYPE", "STATE", "DETAILS"]
    types = [line.split()[4] for line in lines[1:]]
    assert types == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "FailStateEntered",
        "ExecutionFailed",
    ]
    assert "Greet" in lines[2] and "Told asked to stop" in lines[-1]


def test_errors_are_one_line_and_exit_1(server: LiveServer) -> None:
    missing = "arn:aws:states:us-east-1:000000000000:execution:nowhere:nobody"
    done = asyncgate("history", missing, "--endpoint", server.endpoint)
    assert done.returncode == 1
    assert done.stderr.strip() == f"asyncgate: ExecutionDoesNotExist: Execution Does Not Exist: '{missing}'"
    gone = asyncgate("executions", "--endpoint", "http://127.0.0.1:9")
    assert gone.returncode == 1 and gone.stderr.startswith("asyncgate: cannot reach http://127.0.0.1:9")


def test_history_of_an_express_execution_comes_from_its_vended_logs(server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = server.request("POST", server.api_url(), body=json.dumps({"marker": marker}).encode(),
                                  headers={"Content-Type": "application/json"})
    assert status == 200
    logs = server.client("logs")

    def express_arn() -> str | None:
        events = logs.filter_log_events(logGroupName="/aws/vendedlogs/states/sample",
                                        filterPattern=f'"{marker}"')["events"]
        arns = {json.loads(e["message"])["execution_arn"] for e in events}
        done = logs.filter_log_events(logGroupName="/aws/vendedlogs/states/sample",
                                      filterPattern='"ExecutionSucceeded"')["events"]
        finished = {json.loads(e["message"])["execution_arn"] for e in done}
        return next(iter(arns & finished), None)

    arn = until(express_arn)
    assert arn and ":express:" in arn
    done = asyncgate("history", arn, "--endpoint", server.endpoint)
    assert done.returncode == 0, done.stderr
    types = [line.split()[4] for line in done.stdout.splitlines()[1:]]
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert marker in done.stdout.splitlines()[1]  # the started event's input
