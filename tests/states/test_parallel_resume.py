"""A resumed Parallel keeps its finished branches: cut a recorded run after *every* event, resume from
that prefix (with the private branch tags and end marks the store keeps beside it), and the execution
must end as the uninterrupted run did, with every event of the uninterrupted run recorded once — bar
the inner events of a Task that was in flight at the cut, which is invoked again (at-least-once for
the one state in flight). Map iterations in flight go on from their own events the same way.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, Succeeded
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.recorder import HistoryEvent, Recorder
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import context
from tests.states.test_engine import FakeLambda

FN = "arn:aws:lambda:us-east-1:000000000000:function:work"


def _work(event: Any) -> Any:
    return {"done": event}


def _quick(p: str) -> dict[str, Any]:
    """Pass, Task, Pass: finishes at once (no clock time)."""
    return {"StartAt": f"{p}1", "States": {
        f"{p}1": {"Type": "Pass", "Parameters": {"seen.$": "$.in"}, "Next": f"{p}2"},
        f"{p}2": {"Type": "Task", "Resource": FN, "ResultPath": "$.task", "Next": f"{p}3"},
        f"{p}3": {"Type": "Pass", "Parameters": {"branch": p, "task.$": "$.task"}, "End": True},
    }}


def _slow(p: str, first: int = 1, second: int = 2) -> dict[str, Any]:
    """Wait, Pass (assigns), Wait, Pass (reads): ends after ``first + second`` virtual seconds."""
    return {"StartAt": f"{p}1", "States": {
        f"{p}1": {"Type": "Wait", "Seconds": first, "Next": f"{p}2"},
        f"{p}2": {"Type": "Pass", "Assign": {"x.$": "$.in"}, "Next": f"{p}3"},
        f"{p}3": {"Type": "Wait", "Seconds": second, "Next": f"{p}4"},
        f"{p}4": {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": True},
    }}


MACHINES: dict[str, dict[str, Any]] = {
    "three-branches": {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [_quick("A"), _slow("B"), _quick("C")], "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"all.$": "$"}, "End": True},
    }},
    "nested": {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": True, "Branches": [
            _slow("A", 2, 1),
            {"StartAt": "Q", "States": {"Q": {
                "Type": "Parallel", "Branches": [_quick("C"), _slow("D", 1, 1)], "Next": "M"}, "M": {
                "Type": "Map", "ItemsPath": "$[1].x", "MaxConcurrency": 2, "ItemProcessor": _slow("E", 1, 1),
                "ItemSelector": {"in.$": "$$.Map.Item.Value"}, "End": True}}},
        ]},
    }},
    "caught": {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "After",
              "Branches": [_slow("A", 3, 3), {"StartAt": "F1", "States": {
                  "F1": {"Type": "Wait", "Seconds": 2, "Next": "F2"},
                  "F2": {"Type": "Fail", "Error": "Broken", "Cause": "on purpose"}}}],
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "After"}]},
        "After": {"Type": "Pass", "End": True},
    }},
}
INPUT = {"in": [1, 2, 3]}


def _run(definition: dict[str, Any], history: list[HistoryEvent] | None) -> tuple[Any, list[HistoryEvent]]:
    clock = VirtualClock(start=0.0)
    events: list[HistoryEvent] = []
    recorder = Recorder(clock.time, [events.append], last_id=history[-1].id if history else 1)
    engine = Engine(parse_definition(definition), tasks=LambdaTasks(FakeLambda(work=_work)), clock=clock)
    ctx = context(INPUT, start=0.0)
    if history is None:
        return asyncio.run(engine.run(INPUT, ctx, recorder)), events
    return asyncio.run(engine.resume(history, INPUT, ctx, recorder)), events


def _key(event: HistoryEvent) -> tuple[str, Any]:
    details = event.details or {}
    return event.type, details.get("name", details.get("index"))


def _in_branch(name: str, branches: str = "ABC") -> bool:
    return len(name) == 2 and name[0] in branches and name[1].isdigit()


def _tasks_in_flight(prefix: list[HistoryEvent]) -> int:
    open_ = Counter(e.details["name"] for e in prefix if e.type == "TaskStateEntered")
    open_.subtract(e.details["name"] for e in prefix if e.type == "TaskStateExited")
    return sum(1 for n in open_.values() if n > 0)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_a_resumed_parallel_records_nothing_twice_and_ends_the_same(name: str) -> None:
    outcome, full = _run(MACHINES[name], None)
    assert isinstance(outcome, Succeeded), outcome
    expected = Counter(_key(e) for e in full)
    for cut in range(len(full) + 1):
        prefix = full[:cut]
        resumed, rest = _run(MACHINES[name], prefix)
        assert resumed == outcome, (name, cut)
        events = prefix + rest
        assert [e.id for e in events] == list(range(2, len(events) + 2)), (name, cut)
        got = Counter(_key(e) for e in events)
        extra = got - expected
        # a Task in flight at the cut is invoked again: its Lambda events (never its Entered) repeat
        assert all(t.startswith("LambdaFunction") for t, _ in extra), (name, cut, extra)
        assert sum(extra.values()) <= 3 * _tasks_in_flight(prefix), (name, cut, extra)
        assert not expected - got, (name, cut, expected - got)


def test_each_branch_event_is_tagged_and_a_branch_end_is_marked_beside_its_last_event() -> None:
    _, full = _run(MACHINES["three-branches"], None)
    entered = next(e.id for e in full if e.type == "ParallelStateEntered")
    inner = [e for e in full if e.details and _in_branch(e.details.get("name", ""))]
    assert inner and all(e.checkpoint and f'"in":[[{entered},' in e.checkpoint for e in inner)
    ends = [e for e in full if e.checkpoint and '"end":true' in e.checkpoint]
    assert sorted(e.details["name"] for e in ends) == ["A3", "B4", "C3"]
    top = [e for e in full if e.type.startswith("Parallel") or (e.details or {}).get("name") == "After"]
    assert all(e.checkpoint is None for e in top)
    assert all("checkpoint" not in str(e.to_api()) for e in full)


def test_a_resume_with_a_finished_branch_does_not_run_it_again() -> None:
    outcome, full = _run(MACHINES["three-branches"], None)
    # cut while B waits, after A and C have ended
    cut = max(i for i, e in enumerate(full) if e.type == "PassStateExited" and e.details["name"] in "A3C3")
    prefix = full[: cut + 1]
    assert any(e.type == "WaitStateEntered" for e in prefix)
    assert not any(e.details and e.details.get("name") == "B4" for e in prefix)
    resumed, rest = _run(MACHINES["three-branches"], prefix)
    assert resumed == outcome
    assert not [e for e in rest if e.type.startswith(("Task", "Lambda"))]
    assert not [e for e in rest if e.details and _in_branch(e.details.get("name", ""), "AC")]
    assert [e.type for e in rest if e.type.startswith("ParallelState")] == [
        "ParallelStateSucceeded", "ParallelStateExited"]


def test_a_recorded_parallel_failure_ends_the_resumed_attempt_without_running_it() -> None:
    outcome, full = _run(MACHINES["caught"], None)
    assert isinstance(outcome, Succeeded) and outcome.output["error"]["Error"] == "Broken"
    failed = next(i for i, e in enumerate(full) if e.type == "ParallelStateFailed")
    assert full[failed].checkpoint and "Broken" in full[failed].checkpoint
    resumed, rest = _run(MACHINES["caught"], full[: failed + 1])
    assert resumed == outcome
    assert [e.type for e in rest] == ["ParallelStateExited", "PassStateEntered", "PassStateExited"]


def test_untagged_history_runs_the_parallel_again_as_a_whole() -> None:
    """Histories recorded before branch tags existed still resume (as before: the branches again)."""
    outcome, full = _run(MACHINES["three-branches"], None)
    cut = next(i for i, e in enumerate(full) if e.type == "WaitStateEntered")
    prefix = [HistoryEvent(e.id, e.previous_event_id, e.timestamp, e.type, e.details)
              for e in full[: cut + 1]]
    resumed, rest = _run(MACHINES["three-branches"], prefix)
    assert resumed == outcome
    assert [e.type for e in rest].count("ParallelStateStarted") == 0
