"""Durability of the hand-off: what StartExecution commits before answering, and what ``start()``
of a fresh service does with what a crash left behind (``recovery.py``).

The engine is replaced here by a scripted runner at the service's one seam (``runner=``), so a test can
hold an execution mid-flight and "crash" (end the event loop without ``close()``, which cancels every
task as a dying process would) at a precise point. Everything else is real: Store, Logs, the service.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import ExecutionAlreadyExists
from asyncgate.local.logs import Logs
from asyncgate.local.states.executions import Execution, ExecutionStatus, Outcome, dumps
from asyncgate.local.states.recorder import Recorder
from asyncgate.local.states.recovery import INTERRUPTED_CAUSE
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

ROLE = "arn:aws:iam::000000000000:role/r"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


class Scripted:
    """A runner that records calls, emits ``events`` events, and waits for ``release`` if given."""

    def __init__(self, *, block: bool = False, events: int = 2) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.block = block
        self.events = events
        self.release: asyncio.Event | None = None

    async def __call__(self, execution: Execution, value: Any, recorder: Recorder) -> Outcome:
        self.calls.append((execution.arn, value))
        for i in range(self.events):
            await recorder.event("PassStateEntered" if i % 2 == 0 else "PassStateExited",
                                 {"name": f"S{i // 2}", "input": dumps(value)})
        if self.block:
            self.release = self.release or asyncio.Event()
            await self.release.wait()
        return Outcome(ExecutionStatus.SUCCEEDED, output=dumps(value))


def service(store: Store, runner: Scripted) -> StatesService:
    return StatesService(store, Logs(store), None, runner=runner)


def pending_rows(store: Store) -> list[tuple[str, str]]:
    return store.read(lambda db: db.execute("SELECT arn, input FROM sfn_pending_starts").fetchall())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db.sqlite3")
    yield s
    s.close()


def test_express_start_is_durable_before_it_returns_and_reruns_after_a_crash(store: Store) -> None:
    blocked = Scripted(block=True)

    async def accept() -> list[dict[str, Any]]:
        svc = service(store, blocked)
        arn = (await svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        answers = await asyncio.gather(*(
            svc.start_execution({"stateMachineArn": arn, "input": json.dumps({"n": i})}) for i in range(50)
        ))
        # committed by the time each call returned: visible to a reader without any barrier
        assert len(pending_rows(store)) == 50
        return answers  # the loop ends here without close(): every execution is cut off mid-flight

    answers = asyncio.run(accept())
    assert len(blocked.calls) == 50
    assert {arn for arn, _ in pending_rows(store)} == {a["executionArn"] for a in answers}

    rerun = Scripted()

    async def restart() -> None:
        svc = service(store, rerun)
        await svc.start()
        while len(rerun.calls) < 50:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        await svc.close()
        await store.barrier()

    asyncio.run(restart())
    # each accepted start ran again, once, with its own ARN and input (at-least-once)
    assert sorted(rerun.calls, key=lambda c: c[1]["n"]) == sorted(
        ((a["executionArn"], {"n": i}) for i, a in enumerate(answers)), key=lambda c: c[1]["n"])
    assert pending_rows(store) == []


def test_a_finished_express_execution_leaves_no_pending_row(store: Store) -> None:
    async def main() -> None:
        svc = service(store, Scripted())
        arn = (await svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        await svc.start_execution({"stateMachineArn": arn})
        await asyncio.sleep(0.05)
        await store.barrier()
        assert pending_rows(store) == []
        await svc.close()

    asyncio.run(main())


def test_sync_express_is_not_persisted_as_pending(store: Store) -> None:
    async def main() -> dict[str, Any]:
        svc = service(store, Scripted())
        arn = (await svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        out = await svc.start_sync_execution({"stateMachineArn": arn, "input": '{"a":1}', "name": "n1"})
        await store.barrier()
        assert pending_rows(store) == []
        await svc.close()
        return out

    out = asyncio.run(main())
    assert out["status"] == "SUCCEEDED" and out["output"] == '{"a":1}' and out["name"] == "n1"
    prefix = "arn:aws:states:us-east-1:000000000000:express:m:n1:"
    assert out["executionArn"].startswith(prefix) and len(out["executionArn"]) == len(prefix) + 36
    assert out["billingDetails"]["billedMemoryUsedInMB"] == 64


def test_standard_left_running_is_failed_visibly_on_restart(store: Store) -> None:
    async def crash() -> str:
        svc = service(store, Scripted(block=True, events=3))
        arn = (await svc.create_state_machine({"name": "s", "definition": PASS, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn, "name": "run1"})
        await asyncio.sleep(0.02)
        described = await svc.describe_execution({"executionArn": started["executionArn"]})
        assert described["status"] == "RUNNING"
        await store.barrier()
        return str(started["executionArn"])

    execution_arn = asyncio.run(crash())

    async def restart() -> tuple[dict[str, Any], dict[str, Any]]:
        svc = service(store, Scripted())
        await svc.start()
        return (await svc.describe_execution({"executionArn": execution_arn}),
                await svc.get_execution_history({"executionArn": execution_arn}))

    described, history = asyncio.run(restart())
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED", "States.Runtime", INTERRUPTED_CAUSE)
    types = [e["type"] for e in history["events"]]
    # the recorded events are kept; the failure is appended after the last one
    assert types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "PassStateEntered",
                     "ExecutionFailed"]
    assert [e["id"] for e in history["events"]] == [1, 2, 3, 4, 5]


def test_standard_start_is_idempotent_while_running_with_same_input(store: Store) -> None:
    runner = Scripted(block=True)

    async def main() -> None:
        svc = service(store, runner)
        arn = (await svc.create_state_machine({"name": "s", "definition": PASS, "roleArn": ROLE}))[
            "stateMachineArn"]
        request = {"stateMachineArn": arn, "name": "once", "input": '{"a":1}'}
        first, second = await asyncio.gather(svc.start_execution(request), svc.start_execution(request))
        assert first == second
        with pytest.raises(ExecutionAlreadyExists) as info:
            await svc.start_execution({**request, "input": '{"a":2}'})
        assert info.value.message == f"Execution Already Exists: '{first['executionArn']}'"
        assert len(runner.calls) == 1
        await asyncio.sleep(0.01)
        assert runner.release is not None
        runner.release.set()
        await asyncio.sleep(0.05)
        done = await svc.describe_execution({"executionArn": first["executionArn"]})
        assert done["status"] == "SUCCEEDED"
        with pytest.raises(ExecutionAlreadyExists):  # closed: the name is taken regardless of input
            await svc.start_execution(request)
        await svc.close()

    asyncio.run(main())


def test_express_start_is_not_idempotent(store: Store) -> None:
    async def main() -> None:
        svc = service(store, Scripted())
        arn = (await svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE,
                                               "type": "EXPRESS"}))["stateMachineArn"]
        a = await svc.start_execution({"stateMachineArn": arn, "name": "same"})
        b = await svc.start_execution({"stateMachineArn": arn, "name": "same"})
        assert a["executionArn"] != b["executionArn"]
        assert a["executionArn"].startswith("arn:aws:states:us-east-1:000000000000:express:m:same:")
        await svc.close()

    asyncio.run(main())


def test_stop_execution_aborts_with_error_and_cause(store: Store) -> None:
    async def main() -> None:
        svc = service(store, Scripted(block=True))
        arn = (await svc.create_state_machine({"name": "s", "definition": PASS, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn})
        await asyncio.sleep(0.01)
        stopped = await svc.stop_execution({"executionArn": started["executionArn"], "error": "Halt",
                                            "cause": "by hand"})
        assert isinstance(stopped["stopDate"], float)
        described = await svc.describe_execution({"executionArn": started["executionArn"]})
        assert (described["status"], described["error"], described["cause"]) == ("ABORTED", "Halt", "by hand")
        last = (await svc.get_execution_history({"executionArn": started["executionArn"],
                                                 "reverseOrder": True, "maxResults": 1}))["events"][0]
        assert last["type"] == "ExecutionAborted"
        assert last["executionAbortedEventDetails"] == {"error": "Halt", "cause": "by hand"}
        listed = await svc.list_executions({"stateMachineArn": arn, "statusFilter": "ABORTED"})
        assert [e["executionArn"] for e in listed["executions"]] == [started["executionArn"]]
        await svc.close()

    asyncio.run(main())


def test_history_pages_forward_and_reverse(store: Store) -> None:
    async def main() -> None:
        svc = service(store, Scripted(events=8))
        arn = (await svc.create_state_machine({"name": "s", "definition": PASS, "roleArn": ROLE}))[
            "stateMachineArn"]
        started = await svc.start_execution({"stateMachineArn": arn, "input": '{"k":"v"}'})
        execution = started["executionArn"]
        await asyncio.sleep(0.05)
        ids: list[int] = []
        token = None
        while True:
            request = {"executionArn": execution, "maxResults": 3, **({"nextToken": token} if token else {})}
            page = await svc.get_execution_history(request)
            assert len(page["events"]) <= 3
            ids += [e["id"] for e in page["events"]]
            token = page.get("nextToken")
            if token is None:
                break
        assert ids == list(range(1, 11))  # ExecutionStarted, 8 state events, ExecutionSucceeded
        reverse = await svc.get_execution_history({"executionArn": execution, "reverseOrder": True})
        assert [e["id"] for e in reverse["events"]] == list(range(10, 0, -1))
        assert [e["previousEventId"] for e in reverse["events"]][-1] == 0
        bare = await svc.get_execution_history({"executionArn": execution, "includeExecutionData": False})
        assert bare["events"][0]["executionStartedEventDetails"] == {"roleArn": ROLE}
        assert bare["events"][1]["stateEnteredEventDetails"] == {"name": "S0"}
        await svc.close()

    asyncio.run(main())


def test_list_executions_pages_newest_first(store: Store) -> None:
    async def main() -> None:
        svc = service(store, Scripted())
        arn = (await svc.create_state_machine({"name": "s", "definition": PASS, "roleArn": ROLE}))[
            "stateMachineArn"]
        for i in range(5):
            await svc.start_execution({"stateMachineArn": arn, "name": f"e{i}"})
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.05)
        first = await svc.list_executions({"stateMachineArn": arn, "maxResults": 2})
        rest = await svc.list_executions({"stateMachineArn": arn, "nextToken": first["nextToken"]})
        names = [e["name"] for e in first["executions"] + rest["executions"]]
        assert names == ["e4", "e3", "e2", "e1", "e0"]
        assert "nextToken" not in rest
        await svc.close()

    asyncio.run(main())
