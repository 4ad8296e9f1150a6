"""Vended logs: each history event written to the machine's log group as Step Functions writes it
(JSON message with string ids and a string epoch-millisecond timestamp, ``states/<machine>/<minute>/
<hex>`` streams), honouring ``level`` and ``includeExecutionData`` (Step Functions developer guide,
"Logging using CloudWatch Logs" and "Log levels")."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from asyncgate.local.logs import Logs
from asyncgate.local.states.executions import Execution, ExecutionStatus, Outcome, dumps
from asyncgate.local.states.recorder import Recorder
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

ROLE = "arn:aws:iam::000000000000:role/r"
GROUP = "/aws/vendedlogs/states/sample"
GROUP_ARN = f"arn:aws:logs:us-east-1:000000000000:log-group:{GROUP}:*"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


async def pass_then(outcome: str, execution: Execution, value: Any, recorder: Recorder) -> Outcome:
    await recorder.event("PassStateEntered", {"name": "P", "input": dumps(value),
                                             "inputDetails": {"truncated": False}})
    await recorder.event("PassStateExited", {"name": "P", "output": dumps(value),
                                            "outputDetails": {"truncated": False}})
    if outcome == "fail":
        await recorder.event("FailStateEntered", {"name": "F", "input": dumps(value)})
        return Outcome(ExecutionStatus.FAILED, error="Oops", cause="it broke")
    return Outcome(ExecutionStatus.SUCCEEDED, output=dumps(value))


def vended(tmp_path: Path, logging: dict[str, Any], outcome: str = "ok",
           sync: bool = False) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)
    logs.ensure_group(GROUP)  # the template creates it; AWS vends only into an existing group

    async def runner(execution: Execution, value: Any, recorder: Recorder) -> Outcome:
        return await pass_then(outcome, execution, value, recorder)

    async def main() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        svc = StatesService(store, logs, None, runner=runner)
        arn = (await svc.create_state_machine({
            "name": "sample", "definition": PASS, "roleArn": ROLE, "type": "EXPRESS",
            "loggingConfiguration": {**logging, "destinations": [
                {"cloudWatchLogsLogGroup": {"logGroupArn": GROUP_ARN}}]},
        }))["stateMachineArn"]
        request = {"stateMachineArn": arn, "input": '{"hello": "wörld"}'}
        if sync:
            started = await svc.start_sync_execution(request)
        else:
            started = await svc.start_execution(request)
            await asyncio.sleep(0.1)
        await svc.close()
        await store.barrier()
        found = await logs.filter_log_events({"logGroupName": GROUP})
        return started, found["events"]

    try:
        return asyncio.run(main())
    finally:
        store.close()


def test_all_with_execution_data(tmp_path: Path) -> None:
    started, events = vended(tmp_path, {"level": "ALL", "includeExecutionData": True})
    messages = [json.loads(e["message"]) for e in events]
    assert [m["type"] for m in messages] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    first = messages[0]
    assert list(first) == ["id", "type", "details", "previous_event_id", "event_timestamp", "execution_arn"]
    assert first["id"] == "1" and first["previous_event_id"] == "0"
    assert first["details"] == {"input": '{"hello": "wörld"}', "inputDetails": {"truncated": False},
                                "roleArn": ROLE}
    assert first["execution_arn"] == started["executionArn"]
    assert re.fullmatch(r"\d{13}", first["event_timestamp"])
    assert int(first["event_timestamp"]) == events[0]["timestamp"]
    assert [m["id"] for m in messages] == ["1", "2", "3", "4"]
    assert messages[-1]["details"] == {"output": '{"hello":"wörld"}', "outputDetails": {"truncated": False}}
    stream = events[0]["logStreamName"]
    assert re.fullmatch(r"states/sample/\d{4}-\d\d-\d\d-\d\d-\d\d/[0-9a-f]{8}", stream)


def test_without_execution_data_input_and_output_are_left_out(tmp_path: Path) -> None:
    _, events = vended(tmp_path, {"level": "ALL", "includeExecutionData": False})
    messages = [json.loads(e["message"]) for e in events]
    assert messages[0]["details"] == {"roleArn": ROLE}
    assert messages[1]["details"] == {"name": "P"}
    assert messages[-1]["type"] == "ExecutionSucceeded" and messages[-1]["details"] == {}


def test_error_level_logs_only_failure_events(tmp_path: Path) -> None:
    _, ok = vended(tmp_path / "ok", {"level": "ERROR", "includeExecutionData": True})
    assert ok == []
    _, failed = vended(tmp_path / "fail", {"level": "ERROR", "includeExecutionData": True}, "fail")
    messages = [json.loads(e["message"]) for e in failed]
    assert [m["type"] for m in messages] == ["FailStateEntered", "ExecutionFailed"]
    assert messages[-1]["details"] == {"error": "Oops", "cause": "it broke"}
    assert messages[-1]["id"] == "5" and messages[-1]["previous_event_id"] == "4"


def test_fatal_level_logs_only_the_execution_failure(tmp_path: Path) -> None:
    _, failed = vended(tmp_path, {"level": "FATAL", "includeExecutionData": False}, "fail")
    assert [json.loads(e["message"])["type"] for e in failed] == ["ExecutionFailed"]


def test_sync_executions_are_vended_too(tmp_path: Path) -> None:
    started, events = vended(tmp_path, {"level": "ALL", "includeExecutionData": True}, sync=True)
    messages = [json.loads(e["message"]) for e in events]
    assert [m["id"] for m in messages] == ["1", "2", "3", "4"]
    assert {m["execution_arn"] for m in messages} == {started["executionArn"]}


def test_off_writes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)

    async def main() -> None:
        async def runner(execution: Execution, value: Any, recorder: Recorder) -> Outcome:
            return await pass_then("ok", execution, value, recorder)

        svc = StatesService(store, logs, None, runner=runner)
        arn = (await svc.create_state_machine({"name": "quiet", "definition": PASS, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        await svc.start_sync_execution({"stateMachineArn": arn})
        await svc.close()
        await store.barrier()
        groups = await logs.describe_log_groups({})
        assert groups["logGroups"] == []

    asyncio.run(main())
    store.close()
