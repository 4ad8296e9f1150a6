"""The service with the real engine and, for Task states, the real Lambda runtime: what Standard,
Express async and Express sync executions answer and record (StartSyncExecution, DescribeExecution
and GetExecutionHistory shapes from the Step Functions API reference)."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.logs import Logs
from asyncgate.local.states.clock import ScaledClock
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

ROLE = "arn:aws:iam::000000000000:role/r"


def machine(states: dict[str, Any], start: str, **top: Any) -> str:
    return json.dumps({"StartAt": start, "States": states, **top})


CHAIN = machine({
    "P": {"Type": "Pass", "Parameters": {"who.$": "$.name", "run.$": "$$.Execution.Name"}, "Next": "C"},
    "C": {"Type": "Choice", "Choices": [{"Variable": "$.who", "StringEquals": "fail", "Next": "F"}],
          "Default": "S"},
    "F": {"Type": "Fail", "Error": "Told", "Cause": "asked to fail"},
    "S": {"Type": "Succeed"},
}, "P")


def run(tmp_path: Path, scenario: Any, **options: Any) -> Any:
    store = Store(tmp_path / "db.sqlite3", synchronous="OFF")
    logs = Logs(store)

    async def main() -> Any:
        svc = StatesService(store, logs, options.pop("lambdas", None), **options)
        try:
            return await scenario(svc)
        finally:
            await svc.close()

    try:
        return asyncio.run(main())
    finally:
        store.close()


async def wait_done(svc: StatesService, arn: str) -> dict[str, Any]:
    for _ in range(500):
        described = await svc.describe_execution({"executionArn": arn})
        if described["status"] != "RUNNING":
            return described
        await asyncio.sleep(0.01)
    raise AssertionError(f"{arn} still running")


def test_standard_execution_history_and_describe(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        arn = (await svc.create_state_machine({"name": "chain", "definition": CHAIN, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn, "name": "r1", "input": '{"name":"ok"}'})
        described = await wait_done(svc, started["executionArn"])
        history = await svc.get_execution_history({"executionArn": started["executionArn"]})
        for_execution = await svc.describe_state_machine_for_execution(
            {"executionArn": started["executionArn"]})
        return described, history, for_execution

    described, history, for_execution = run(tmp_path, scenario)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"who": "ok", "run": "r1"}
    assert described["executionArn"] == "arn:aws:states:us-east-1:000000000000:execution:chain:r1"
    types = [e["type"] for e in history["events"]]
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ChoiceStateEntered",
                     "ChoiceStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]
    assert [e["id"] for e in history["events"]] == list(range(1, 9))
    assert for_execution["definition"] == CHAIN and for_execution["roleArn"] == ROLE


def test_sync_express_failure_is_reported_with_status_200_shape(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> dict[str, Any]:
        arn = (await svc.create_state_machine({"name": "chain", "definition": CHAIN, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        return await svc.start_sync_execution({"stateMachineArn": arn, "input": '{"name":"fail"}'})

    out = run(tmp_path, scenario)
    assert (out["status"], out["error"], out["cause"]) == ("FAILED", "Told", "asked to fail")
    assert "output" not in out and out["input"] == '{"name":"fail"}'
    assert set(out) == {"executionArn", "stateMachineArn", "name", "startDate", "stopDate", "status",
                        "input", "inputDetails", "error", "cause", "billingDetails"}


def test_express_runs_at_most_five_minutes(tmp_path: Path) -> None:
    """Express: 5 minutes at most, then States.Timeout (run 1000x faster on a ScaledClock)."""
    waits = machine({"W": {"Type": "Wait", "Seconds": 400, "End": True}}, "W")

    async def scenario(svc: StatesService) -> dict[str, Any]:
        arn = (await svc.create_state_machine({"name": "slow", "definition": waits, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        return await svc.start_sync_execution({"stateMachineArn": arn})

    out = run(tmp_path, scenario, clock=ScaledClock(1000.0))
    assert (out["status"], out["error"]) == ("TIMED_OUT", "States.Timeout")


def test_machine_timeout_seconds_times_out_standard(tmp_path: Path) -> None:
    waits = machine({"W": {"Type": "Wait", "Seconds": 30, "End": True}}, "W", TimeoutSeconds=5)

    async def scenario(svc: StatesService) -> tuple[dict[str, Any], list[str]]:
        arn = (await svc.create_state_machine({"name": "slow", "definition": waits, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn})
        described = await wait_done(svc, started["executionArn"])
        history = await svc.get_execution_history({"executionArn": started["executionArn"]})
        return described, [e["type"] for e in history["events"]]

    described, types = run(tmp_path, scenario, clock=ScaledClock(100.0))
    assert described["status"] == "TIMED_OUT"
    assert types[-1] == "ExecutionTimedOut"


def test_lambda_task_through_the_lambda_runtime(tmp_path: Path) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "handler.py").write_text(textwrap.dedent("""\
        def handler(event, context):
            return {"echo": event, "upper": event["name"].upper()}
    """))
    definition = machine({
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": function_arn("echo"), "Payload.$": "$"},
                   "OutputPath": "$.Payload", "End": True},
    }, "Invoke")
    store = Store(tmp_path / "db.sqlite3", synchronous="OFF")
    logs = Logs(store)

    async def main() -> dict[str, Any]:
        lambdas = LambdaService(logs, data_dir=tmp_path / "lambda", store=store)
        lambdas.register(FunctionConfig("echo", function_arn("echo"), "handler.handler", "python3.12", code))
        svc = StatesService(store, logs, lambdas)
        try:
            arn = (await svc.create_state_machine({"name": "fn", "definition": definition, "roleArn": ROLE,
                                                   "type": "EXPRESS"}))["stateMachineArn"]
            return await svc.start_sync_execution({"stateMachineArn": arn, "input": '{"name": "ada"}'})
        finally:
            await svc.close()
            await lambdas.close()

    try:
        out = asyncio.run(main())
    finally:
        store.close()
    assert out["status"] == "SUCCEEDED", out
    assert json.loads(out["output"]) == {"echo": {"name": "ada"}, "upper": "ADA"}


def test_standard_execution_resumes_after_a_crash(tmp_path: Path) -> None:
    """A Standard execution cut off mid-Wait continues after a restart: finished states are not
    repeated, the interrupted one runs again from its recorded input, ids continue (recovery.py)."""
    definition = machine({
        "First": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.first", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 5, "Next": "Last"},
        "Last": {"Type": "Pass", "End": True},
    }, "First")
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)

    async def crash() -> str:
        svc = StatesService(store, logs, None, clock=ScaledClock(100.0))
        arn = (await svc.create_state_machine({"name": "long", "definition": definition, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn, "input": '{"k": "v"}'})
        await asyncio.sleep(0.02)  # inside the 50 ms Wait
        await store.barrier()
        return str(started["executionArn"])  # the loop ends without close(): a crash

    async def restart(arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        svc = StatesService(store, logs, None, clock=ScaledClock(100.0))
        await svc.start()
        described = await wait_done(svc, arn)
        history = await svc.get_execution_history({"executionArn": arn})
        await svc.close()
        return described, history["events"]

    try:
        arn = asyncio.run(crash())
        described, events = asyncio.run(restart(arn))
    finally:
        store.close()
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"k": "v", "first": {"step": 1}}
    types = [e["type"] for e in events]
    assert types.count("PassStateEntered") == 2  # First once (not repeated), Last once
    assert types[0] == "ExecutionStarted" and types[-1] == "ExecutionSucceeded"
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


WAITING = machine({
    "A": {"Type": "Pass", "Next": "W"},
    "W": {"Type": "Wait", "Seconds": 5, "Next": "B"},
    "B": {"Type": "Pass", "End": True},
}, "A")


def test_clean_shutdown_then_restart_resumes_without_aborted_events(tmp_path: Path) -> None:
    """close() cuts executions off without ending them: nothing is recorded while they unwind."""
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)

    async def stop() -> str:
        svc = StatesService(store, logs, None, clock=ScaledClock(100.0))
        arn = (await svc.create_state_machine({"name": "w", "definition": WAITING, "roleArn": ROLE}))[
            "stateMachineArn"]
        execution = (await svc.start_execution({"stateMachineArn": arn}))["executionArn"]
        await asyncio.sleep(0.02)
        await svc.close()
        await store.barrier()
        return str(execution)

    async def restart(arn: str) -> tuple[str, list[str]]:
        svc = StatesService(store, logs, None, clock=ScaledClock(100.0))
        await svc.start()
        described = await wait_done(svc, arn)
        history = await svc.get_execution_history({"executionArn": arn})
        await svc.close()
        return described["status"], [e["type"] for e in history["events"]]

    try:
        status, types = asyncio.run(restart(asyncio.run(stop())))
    finally:
        store.close()
    assert status == "SUCCEEDED"
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
                     "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_stop_execution_with_the_engine(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        arn = (await svc.create_state_machine({"name": "w", "definition": WAITING, "roleArn": ROLE}))[
            "stateMachineArn"]
        execution = (await svc.start_execution({"stateMachineArn": arn}))["executionArn"]
        await asyncio.sleep(0.05)
        await svc.stop_execution({"executionArn": execution, "error": "Halt", "cause": "enough"})
        described = await svc.describe_execution({"executionArn": execution})
        history = await svc.get_execution_history({"executionArn": execution, "reverseOrder": True})
        return described, history["events"]

    described, events = run(tmp_path, scenario)
    assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Halt", "enough")
    assert [e["type"] for e in events[:2]] == ["ExecutionAborted", "WaitStateAborted"]


def test_a_standard_name_is_free_again_90_days_after_its_execution_closed(tmp_path: Path) -> None:
    """AWS keeps a closed Standard execution, and its name, for 90 days; then the name may be reused."""
    from asyncgate.local.errors import ExecutionAlreadyExists
    from asyncgate.local.states.clock import VirtualClock

    clock = VirtualClock()

    async def scenario(svc: StatesService) -> tuple[str, str]:
        arn = (await svc.create_state_machine({"name": "names", "definition": CHAIN, "roleArn": ROLE}))[
            "stateMachineArn"]
        request = {"stateMachineArn": arn, "name": "monthly", "input": '{"name": "a"}'}
        first = (await svc.start_execution(request))["executionArn"]
        await wait_done(svc, first)
        clock.advance(90 * 24 * 3600 - 60)
        try:
            await svc.start_execution(request)
        except ExecutionAlreadyExists:
            pass
        else:
            raise AssertionError("the name was reused within 90 days")
        clock.advance(120)
        second = (await svc.start_execution({**request, "input": '{"name": "b"}'}))["executionArn"]
        described = await wait_done(svc, second)
        history = await svc.get_execution_history({"executionArn": second})
        types = [e["type"] for e in history["events"]]
        assert types.count("ExecutionStarted") == 1  # the old history went with the old execution
        return first == second and described["input"], described["status"]

    assert run(tmp_path, scenario, clock=clock) == ('{"name": "b"}', "SUCCEEDED")
