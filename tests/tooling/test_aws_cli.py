"""The AWS CLI (v1, installed by ``make install``) against a live ``asyncgate up``: Step Functions
(machines, executions, history, callbacks), CloudWatch Logs and Lambda, with dummy credentials,
``--endpoint-url`` and ``--region us-east-1`` — the commands a serverless engineer already knows.

awscli v1 has no ``aws logs tail`` (that is a v2 command); ``filter-log-events`` and
``get-log-events`` are what it offers and what is tested here.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.tooling.cli import aws, aws_run, until

ROLE = "arn:aws:iam::000000000000:role/cli"


def definition(states: dict[str, object], start: str) -> str:
    return json.dumps({"StartAt": start, "States": states})


@pytest.fixture(scope="module")
def callback_machine(server: LiveServer) -> tuple[str, str]:
    """A worker machine and a Standard machine that hands it a task token and waits."""
    tag = uuid.uuid4().hex[:8]
    worker = aws(
        server,
        "stepfunctions",
        "create-state-machine",
        "--name",
        f"cli-worker-{tag}",
        "--role-arn",
        ROLE,
        "--definition",
        definition({"Work": {"Type": "Pass", "End": True}}, "Work"),
    )
    boss = aws(
        server,
        "stepfunctions",
        "create-state-machine",
        "--name",
        f"cli-boss-{tag}",
        "--role-arn",
        ROLE,
        "--definition",
        definition(
            {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                    "Parameters": {
                        "StateMachineArn": worker["stateMachineArn"],
                        "Input": {"token.$": "$$.Task.Token", "who.$": "$.who"},
                    },
                    "End": True,
                }
            },
            "Ask",
        ),
    )
    return worker["stateMachineArn"], boss["stateMachineArn"]


def token_for(server: LiveServer, worker: str, who: str) -> str:
    """The token the parent handed to its worker (found with boto3: a helper, not the CLI under test)."""
    sfn = server.client("stepfunctions")

    def probe() -> str | None:
        for item in sfn.list_executions(stateMachineArn=worker)["executions"]:
            doc = json.loads(sfn.describe_execution(executionArn=item["executionArn"])["input"])
            if doc["who"] == who:
                return str(doc["token"])
        return None

    token = until(probe)
    assert token, f"no worker execution for {who}"
    return str(token)


def ended(server: LiveServer, arn: str) -> None:
    sfn = server.client("stepfunctions")
    until(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING")


def test_list_state_machines_shows_the_sample_app(server: LiveServer) -> None:
    machines = aws(server, "stepfunctions", "list-state-machines")["stateMachines"]
    assert any(m["type"] == "EXPRESS" for m in machines), machines


def test_start_describe_history_and_send_task_success(
    server: LiveServer, callback_machine: tuple[str, str]
) -> None:
    worker, boss = callback_machine
    started = aws(
        server, "stepfunctions", "start-execution", "--state-machine-arn", boss, "--input", '{"who": "alice"}'
    )
    arn = started["executionArn"]
    assert aws(server, "stepfunctions", "describe-execution", "--execution-arn", arn)["status"] == "RUNNING"
    token = token_for(server, worker, "alice")
    aws(server, "stepfunctions", "send-task-heartbeat", "--task-token", token)
    aws(server, "stepfunctions", "send-task-success", "--task-token", token, "--task-output", '{"ok": 1}')

    ended(server, arn)
    described = aws(server, "stepfunctions", "describe-execution", "--execution-arn", arn)
    assert (described["status"], json.loads(described["output"])) == ("SUCCEEDED", {"ok": 1})
    events = aws(server, "stepfunctions", "get-execution-history", "--execution-arn", arn)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    again = aws_run(
        server, "stepfunctions", "send-task-success", "--task-token", token, "--task-output", "{}"
    )
    assert again.returncode != 0 and "(TaskTimedOut)" in again.stderr, again.stderr


def test_send_task_failure_and_bad_tokens(server: LiveServer, callback_machine: tuple[str, str]) -> None:
    worker, boss = callback_machine
    arn = aws(
        server, "stepfunctions", "start-execution", "--state-machine-arn", boss, "--input", '{"who": "bob"}'
    )["executionArn"]
    token = token_for(server, worker, "bob")
    bad = aws_run(
        server, "stepfunctions", "send-task-success", "--task-token", token, "--task-output", "nope"
    )
    assert "(InvalidOutput)" in bad.stderr, bad.stderr
    aws(
        server,
        "stepfunctions",
        "send-task-failure",
        "--task-token",
        token,
        "--error",
        "Denied",
        "--cause",
        "no",
    )
    ended(server, arn)
    described = aws(server, "stepfunctions", "describe-execution", "--execution-arn", arn)
    assert (described["status"], described["error"], described["cause"]) == ("FAILED", "Denied", "no")
    invalid = aws_run(server, "stepfunctions", "send-task-heartbeat", "--task-token", "not-a-token")
    assert "(InvalidToken)" in invalid.stderr, invalid.stderr


def test_express_executions_are_not_listed_or_described(server: LiveServer) -> None:
    machines = aws(server, "stepfunctions", "list-state-machines")["stateMachines"]
    express = next(m for m in machines if m["type"] == "EXPRESS")
    listed = aws_run(
        server, "stepfunctions", "list-executions", "--state-machine-arn", express["stateMachineArn"]
    )
    assert "(StateMachineTypeNotSupported)" in listed.stderr, listed.stderr
    arn = express["stateMachineArn"].replace(":stateMachine:", ":express:") + ":name:" + str(uuid.uuid4())
    described = aws_run(server, "stepfunctions", "describe-execution", "--execution-arn", arn)
    assert "(InvalidArn)" in described.stderr, described.stderr


def test_logs_groups_events_and_streams(server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    status, _, _ = server.request(
        "POST",
        server.api_url(),
        body=json.dumps({"marker": marker}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    groups = {g["logGroupName"] for g in aws(server, "logs", "describe-log-groups")["logGroups"]}
    assert {"/aws/lambda/sample-func", "/aws/vendedlogs/states/sample"} <= groups

    def found() -> list[dict[str, object]]:
        events = aws(
            server,
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/aws/lambda/sample-func",
            "--filter-pattern",
            f'"{marker}"',
        )["events"]
        return list(events)

    events = until(found)
    assert events, "the function's log line never arrived"
    stream = str(events[0]["logStreamName"])
    page = aws(
        server,
        "logs",
        "get-log-events",
        "--log-group-name",
        "/aws/lambda/sample-func",
        "--log-stream-name",
        stream,
        "--start-from-head",
    )
    assert any(marker in e["message"] for e in page["events"])


def test_lambda_invoke(server: LiveServer, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    answer = aws(
        server,
        "lambda",
        "invoke",
        "--function-name",
        "sample-func",
        "--payload",
        '{"hello": "cli"}',
        str(out),
    )
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert out.read_text()  # the handler's JSON answer
