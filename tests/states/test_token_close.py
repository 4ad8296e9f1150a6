"""When an execution ends, every task token it still had is closed: a later SendTask* gets AWS's
TaskTimedOut. The engine closes a token when its Task ends; this covers the ones it never went back
to, such as a token issued again at a restart for a Task the resumed execution did not reach."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asyncgate.local.errors import TaskTimedOut
from asyncgate.local.logs import Logs
from asyncgate.local.states.clock import ScaledClock
from asyncgate.local.states.service import StatesService
from asyncgate.local.states.task_tokens import TaskTokens
from asyncgate.local.store import Store
from tests.states.test_service_engine import ROLE, machine, wait_done


def test_closing_an_execution_closes_its_tokens_and_no_others() -> None:
    tokens = TaskTokens()
    first = tokens.issue("arn:a", "T1", key="2.0")
    second = tokens.issue("arn:a", "T2", key="5.0")
    other = tokens.issue("arn:b", "T1", key="2.0")
    tokens.close_execution("arn:a")
    for token in (first, second):
        with pytest.raises(TaskTimedOut):
            tokens.succeed(token, {})
    tokens.succeed(other, {"kept": True})  # answered early: kept for its Task
    tokens.close_execution("arn:missing")  # nothing to close: no error


def test_a_token_left_over_when_the_execution_ends_times_out(tmp_path: Path) -> None:
    async def scenario() -> None:
        store = Store(tmp_path / "db.sqlite3")
        svc = StatesService(store, Logs(store), None, clock=ScaledClock(100))
        try:
            arn = (await svc.create_state_machine({
                "name": "m", "roleArn": ROLE,
                "definition": machine({"W": {"Type": "Wait", "Seconds": 10, "End": True}}, "W"),
            }))["stateMachineArn"]
            started = await svc.start_execution({"stateMachineArn": arn, "input": "{}"})
            # a token the execution will never go back to (as one issued again at a restart)
            token = svc.tokens.issue(started["executionArn"], "Gone", key="9.0")
            assert (await wait_done(svc, started["executionArn"]))["status"] == "SUCCEEDED"
            with pytest.raises(TaskTimedOut):
                await svc.send_task_success({"taskToken": token, "output": "{}"})
        finally:
            await svc.close()
            store.close()

    asyncio.run(scenario())
