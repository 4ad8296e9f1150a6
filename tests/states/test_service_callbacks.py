"""``.waitForTaskToken`` through the service: SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on
the token the Task handed out, AWS's errors for bad, unknown and closed tokens (API reference of
SendTaskSuccess: InvalidOutput, InvalidToken, TaskDoesNotExist, TaskTimedOut), and a token that
survives a crash and restart of the service.

The token reaches the outside world as AWS users most often pass it: in the input of a child
execution started with ``arn:aws:states:::states:startExecution.waitForTaskToken``.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import (
    InvalidOutput,
    InvalidToken,
    TaskDoesNotExist,
    TaskTimedOut,
    ValidationException,
)
from asyncgate.local.logs import Logs
from asyncgate.local.states.clock import ScaledClock
from asyncgate.local.states.service import StatesService
from asyncgate.local.states.task_tokens import TaskTokens
from asyncgate.local.store import Store
from tests.states.test_service_engine import ROLE, machine, run, wait_done

WORKER = machine({"Work": {"Type": "Pass", "End": True}}, "Work")


def parent(worker_arn: str, **task: Any) -> str:
    return machine(
        {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "Parameters": {
                    "StateMachineArn": worker_arn,
                    "Input": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                },
                "Next": "Done",
                **task,
            },
            "Done": {"Type": "Pass", "End": True},
        },
        "Ask",
    )


async def deploy(svc: StatesService, **task: Any) -> tuple[str, str]:
    worker = (await svc.create_state_machine({"name": "worker", "definition": WORKER, "roleArn": ROLE}))[
        "stateMachineArn"
    ]
    boss = (
        await svc.create_state_machine(
            {"name": "boss", "definition": parent(worker, **task), "roleArn": ROLE}
        )
    )["stateMachineArn"]
    return worker, boss


async def token_of(svc: StatesService, worker: str, order: int) -> str:
    """The token the parent handed to its worker (read from the worker execution's input)."""
    for _ in range(500):
        for item in (await svc.list_executions({"stateMachineArn": worker}))["executions"]:
            described = await svc.describe_execution({"executionArn": item["executionArn"]})
            doc = json.loads(described["input"])
            if doc.get("order") == order:
                return str(doc["token"])
        await asyncio.sleep(0.01)
    raise AssertionError("no worker execution")


def test_send_task_success_resumes_the_waiting_task_once(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> Any:
        worker, boss = await deploy(svc)
        arn = (await svc.start_execution({"stateMachineArn": boss, "input": '{"order": 1}'}))["executionArn"]
        token = await token_of(svc, worker, 1)
        assert await svc.send_task_heartbeat({"taskToken": token}) == {}
        assert await svc.send_task_success({"taskToken": token, "output": '{"approved": true}'}) == {}
        described = await wait_done(svc, arn)
        with pytest.raises(TaskTimedOut, match="Provided task does not exist anymore"):
            await svc.send_task_success({"taskToken": token, "output": "{}"})
        history = (await svc.get_execution_history({"executionArn": arn}))["events"]
        return described, [e["type"] for e in history]

    described, types = run(tmp_path, scenario)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    assert types == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]


def test_send_task_failure_fails_the_task_with_its_error_and_cause(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> Any:
        worker, boss = await deploy(svc)
        arn = (await svc.start_execution({"stateMachineArn": boss, "input": '{"order": 2}'}))["executionArn"]
        token = await token_of(svc, worker, 2)
        await svc.send_task_failure({"taskToken": token, "error": "Rejected", "cause": "no budget"})
        return await wait_done(svc, arn)

    described = run(tmp_path, scenario)
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "Rejected",
        "no budget",
    )


def test_bad_requests_get_aws_errors(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> list[str]:
        worker, boss = await deploy(svc)
        await svc.start_execution({"stateMachineArn": boss, "input": '{"order": 3}'})
        token = await token_of(svc, worker, 3)
        unknown = TaskTokens().issue("arn:aws:states:us-east-1:000000000000:execution:boss:gone", "Ask")
        seen = []
        for call, request, error in [
            (svc.send_task_success, {"taskToken": token, "output": "not json"}, InvalidOutput),
            (svc.send_task_success, {"taskToken": token}, ValidationException),
            (svc.send_task_success, {"taskToken": "not a token", "output": "{}"}, InvalidToken),
            (svc.send_task_heartbeat, {"taskToken": unknown}, TaskDoesNotExist),
            (svc.send_task_failure, {"taskToken": token, "error": "e" * 257}, ValidationException),
            (svc.send_task_heartbeat, {}, ValidationException),
        ]:
            with pytest.raises(error) as info:
                await call(request)
            seen.append(info.value.message)
        await svc.send_task_success({"taskToken": token, "output": "{}"})  # still open after the refusals
        return seen

    messages = run(tmp_path, scenario)
    assert messages[1].endswith(
        "Value null at 'output' failed to satisfy constraint: Member must not be null"
    )
    assert messages[4].endswith("Member must have length less than or equal to 256")


def test_missing_heartbeat_times_the_task_out(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> Any:
        _worker, boss = await deploy(svc, HeartbeatSeconds=5)
        arn = (await svc.start_execution({"stateMachineArn": boss, "input": '{"order": 4}'}))["executionArn"]
        described = await wait_done(svc, arn)
        events = (await svc.get_execution_history({"executionArn": arn}))["events"]
        return described, events

    described, events = run(tmp_path, scenario, clock=ScaledClock(1000.0))
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")
    timed_out = next(e for e in events if e["type"] == "TaskTimedOut")
    assert timed_out["taskTimedOutEventDetails"]["error"] == "States.HeartbeatTimeout"
    scheduled = next(e for e in events if e["type"] == "TaskScheduled")
    assert scheduled["taskScheduledEventDetails"]["heartbeatInSeconds"] == 5


def test_a_token_handed_out_before_a_crash_is_accepted_after_the_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)

    async def crash() -> tuple[str, str]:
        svc = StatesService(store, logs, None)
        worker, boss = await deploy(svc)
        arn = (await svc.start_execution({"stateMachineArn": boss, "input": '{"order": 5}'}))["executionArn"]
        token = await token_of(svc, worker, 5)
        await store.barrier()
        return str(arn), token  # the loop ends without close(): a crash

    async def restart(arn: str, token: str) -> tuple[dict[str, Any], list[str]]:
        svc = StatesService(store, logs, None)
        await svc.start()  # the answer may come before the resumed Task has run a step
        await svc.send_task_success({"taskToken": token, "output": '{"after": "restart"}'})
        described = await wait_done(svc, arn)
        events = (await svc.get_execution_history({"executionArn": arn}))["events"]
        await svc.close()
        return described, [e["type"] for e in events]

    try:
        arn, token = asyncio.run(crash())
        described, types = asyncio.run(restart(arn, token))
    finally:
        store.close()
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"after": "restart"}
    assert types.count("TaskStateEntered") == 1
    assert types.count("TaskSucceeded") == 1
