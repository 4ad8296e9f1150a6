"""``.waitForTaskToken``: the token reaches the task through ``$$.Task.Token``, the Task waits for
SendTaskSuccess / SendTaskFailure, and HeartbeatSeconds without a heartbeat is States.HeartbeatTimeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncgate.local.errors import TaskTimedOut
from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, Failed, Succeeded
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.task_tokens import TaskTokens
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import Events, context
from tests.states.test_engine import FakeLambda


def definition(**task: Any) -> dict[str, Any]:
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {
            "FunctionName": "approver",
            "Payload": {"token.$": "$$.Task.Token", "order.$": "$.order"},
        },
        "End": True,
        **task,
    }
    return {"StartAt": "Approve", "States": {"Approve": state}}


def run(doc: dict[str, Any], answer: Any) -> tuple[Any, Events, TaskTokens]:
    clock = VirtualClock(start=0.0)
    tokens = TaskTokens()
    seen: list[str] = []

    def approver(event: Any) -> Any:
        seen.append(event["token"])
        return {"accepted": True}

    async def main() -> Any:
        engine = Engine(
            parse_definition(doc),
            tasks=LambdaTasks(FakeLambda(approver=approver)),
            clock=clock,
            tokens=tokens,
        )
        events = Events()
        job = asyncio.ensure_future(engine.run({"order": 7}, context({"order": 7}), events))
        for _ in range(50):
            await asyncio.sleep(0)
        if answer is not None:
            answer(tokens, seen[0])
        return await job, events

    outcome, events = asyncio.run(main())
    return outcome, events, tokens


def test_send_task_success_completes_the_task() -> None:
    outcome, events, _tokens = run(definition(), lambda t, token: t.succeed(token, {"approved": 7}))
    assert outcome == Succeeded({"approved": 7})
    assert events.types == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
    assert events.items[1][2]["resource"] == "invoke.waitForTaskToken"


def test_send_task_failure_fails_the_task_and_the_token_is_gone() -> None:
    used: list[str] = []

    def answer(t: TaskTokens, token: str) -> None:
        used.append(token)
        t.fail(token, "Rejected", "no budget")

    outcome, events, tokens = run(definition(), answer)
    assert outcome == Failed("Rejected", "no budget")
    assert events.types[-1] == "TaskFailed"
    with pytest.raises(TaskTimedOut, match="Provided task does not exist anymore"):
        tokens.succeed(used[0], {})


def test_missing_heartbeat_is_heartbeat_timeout() -> None:
    outcome, events, _ = run(definition(HeartbeatSeconds=30), None)
    assert outcome == Failed("States.HeartbeatTimeout", None)
    assert events.types[-1] == "TaskTimedOut"
