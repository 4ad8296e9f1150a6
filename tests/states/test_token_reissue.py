"""Task tokens handed out *inside* a Parallel branch or a Map iteration survive a crash: a fresh
service's ``start()`` issues them again before the resumed execution takes a step, so a
SendTaskSuccess sent right after ``start()`` is kept for the Task (not TaskDoesNotExist), and the
execution ends with the answers. The tokens are the ones handed out before the crash (``task_tokens``:
a token names the Task's recorded Entered event and its attempt).

A crash is the event loop ending without ``close()`` (every task cancelled, as a dying process's
would be); the store, the service and the engine are real. The tokens reach the test as AWS users
most often pass them: in the input of a child execution (``startExecution.waitForTaskToken``).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asyncgate.local.logs import Logs
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store
from tests.states.test_service_engine import ROLE, machine, wait_done

WORKER = machine({"Work": {"Type": "Pass", "End": True}}, "Work")


def ask(tag: str, **task: Any) -> dict[str, Any]:
    """A ``.waitForTaskToken`` Task that hands its token to a worker execution with ``{"tag": tag}``
    (``tag`` ending in ``.$`` takes the tag from the state's input)."""
    key = "tag.$" if tag.endswith(".$") else "tag"
    return {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": "${worker}",
                           "Input": {"token.$": "$$.Task.Token", key: tag.removesuffix(".$")}},
            "End": True, **task}


def branch(name: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": name, "States": {name: state}}


async def handed_out(svc: StatesService, worker: str, count: int) -> list[tuple[str, str]]:
    """(tag, token) of the worker's executions, oldest first, once there are ``count`` of them."""
    for _ in range(500):
        listed = (await svc.list_executions({"stateMachineArn": worker}))["executions"]
        if len(listed) >= count:
            out = []
            for item in sorted(listed, key=lambda e: e["startDate"]):
                described = await svc.describe_execution({"executionArn": item["executionArn"]})
                doc = json.loads(described["input"])
                out.append((str(doc["tag"]), str(doc["token"])))
            return out
        await asyncio.sleep(0.01)
    raise AssertionError("the worker was not started")


Before = Callable[[StatesService, str], Awaitable[dict[str, str]]]


def crash_and_answer(tmp_path: Path, definition: str, before: Before,
                     answers: Callable[[str], Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``definition`` until ``before`` returns the tokens (tag -> token) it waits on, crash, start
    a fresh service and answer each token with ``answers(tag)`` at once; the execution's end."""
    store = Store(tmp_path / "db.sqlite3")
    logs = Logs(store)

    async def crash() -> tuple[str, dict[str, str]]:
        svc = StatesService(store, logs, None)
        worker = (await svc.create_state_machine({"name": "worker", "definition": WORKER, "roleArn": ROLE}))[
            "stateMachineArn"]
        boss = (await svc.create_state_machine({
            "name": "boss", "definition": definition.replace("${worker}", worker), "roleArn": ROLE}
        ))["stateMachineArn"]
        arn = (await svc.start_execution({"stateMachineArn": boss, "input": '{"items": ["a", "b"]}'}))[
            "executionArn"]
        tokens = await before(svc, worker)
        await store.barrier()
        return str(arn), tokens  # the loop ends without close(): a crash

    async def restart(arn: str, tokens: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        svc = StatesService(store, logs, None)
        await svc.start()  # no step of the resumed execution has run yet
        for tag, token in sorted(tokens.items(), reverse=True):
            await svc.send_task_success({"taskToken": token, "output": json.dumps(answers(tag))})
        described = await wait_done(svc, arn)
        events = (await svc.get_execution_history({"executionArn": arn}))["events"]
        await svc.close()
        return described, events

    try:
        arn, tokens = asyncio.run(crash())
        return asyncio.run(restart(arn, tokens))
    finally:
        store.close()


def waiting_on(count: int) -> Before:
    async def before(svc: StatesService, worker: str) -> dict[str, str]:
        return dict(await handed_out(svc, worker, count))
    return before


def names(events: list[dict[str, Any]], typ: str) -> Counter[str]:
    key = "stateEnteredEventDetails" if typ.endswith("Entered") else "stateExitedEventDetails"
    return Counter(e[key]["name"] for e in events if e["type"] == typ)


def test_tokens_of_two_waiting_parallel_branches_are_kept_across_a_crash(tmp_path: Path) -> None:
    definition = machine({"Both": {"Type": "Parallel", "End": True, "Branches": [
        branch("AskLeft", ask("left")), branch("AskRight", ask("right"))]}}, "Both")
    described, events = crash_and_answer(tmp_path, definition, waiting_on(2), lambda tag: {"said": tag})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"said": "left"}, {"said": "right"}]
    once = {"AskLeft": 1, "AskRight": 1}
    assert names(events, "TaskStateEntered") == names(events, "TaskStateExited") == once
    types = Counter(e["type"] for e in events)
    assert types["ParallelStateStarted"] == types["ParallelStateSucceeded"] == 1
    assert types["TaskSucceeded"] == 2 and not types["TaskFailed"]


def test_tokens_of_waiting_map_iterations_are_kept_across_a_crash(tmp_path: Path) -> None:
    definition = machine({"Each": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                                   "ItemProcessor": branch("AskItem", ask("$.$"))}}, "Each")
    described, events = crash_and_answer(tmp_path, definition, waiting_on(2), lambda tag: {"item": tag})
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"item": "a"}, {"item": "b"}]
    types = Counter(e["type"] for e in events)
    assert types["MapIterationStarted"] == types["MapIterationSucceeded"] == 2
    assert types["TaskStateEntered"] == types["TaskStateExited"] == types["TaskSucceeded"] == 2


def test_a_map_in_a_parallel_branch_and_a_retried_task_keep_their_tokens(tmp_path: Path) -> None:
    """Nested (a Map inside a Parallel branch), and a Task on its second attempt: its token names the
    attempt (the recorded failure counts), so the reissued token is the second attempt's."""
    retried = ask("again", Retry=[{"ErrorEquals": ["Again"], "IntervalSeconds": 1, "BackoffRate": 1}])
    definition = machine({"Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Items", "States": {"Items": {
            "Type": "Map", "ItemsPath": "$.items", "End": True,
            "ItemProcessor": branch("AskItem", ask("$.$"))}}},
        branch("AskAgain", retried)]}}, "Both")

    async def before(svc: StatesService, worker: str) -> dict[str, str]:
        first = dict(await handed_out(svc, worker, 3))
        await svc.send_task_failure({"taskToken": first["again"], "error": "Again"})
        second = dict(await handed_out(svc, worker, 4))
        assert second["again"] != first["again"]
        return second

    described, events = crash_and_answer(tmp_path, definition, before, lambda tag: tag)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [["a", "b"], "again"]
    assert names(events, "TaskStateEntered") == {"AskItem": 2, "AskAgain": 1}
    types = Counter(e["type"] for e in events)
    assert types["TaskFailed"] == 1 and types["TaskSucceeded"] == 3
