"""A resumed Map keeps its finished iterations: cut a recorded run after *every* event, resume from
that prefix (with the private checkpoints the store keeps beside it), and the execution must end as
the uninterrupted run did, with no Map-level or per-iteration event recorded twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, Failed, Succeeded
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.recorder import HistoryEvent, Recorder
from tests.states.engine_harness import context

_ITERATION = {"StartAt": "W", "States": {
    "W": {"Type": "Wait", "Seconds": 1, "Next": "D"},
    "D": {"Type": "Pass", "Parameters": {"d.$": "States.MathAdd($, $)"}, "End": True},
}}

MACHINES: dict[str, dict[str, Any]] = {
    "concurrent": {"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": _ITERATION, "End": True},
    }},
    "nested": {"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 2, "End": True,
              "ItemProcessor": {"StartAt": "Inner", "States": {
                  "Inner": {"Type": "Map", "ItemsPath": "$.xs", "ItemProcessor": _ITERATION, "End": True},
              }}, "ItemSelector": {"xs.$": "States.Array($$.Map.Item.Value, 1)"}},
    }},
    "tolerated": {"StartAt": "M", "States": {
        "M": {"Type": "Map", "MaxConcurrency": 2, "ToleratedFailureCount": 5, "End": True,
              "ItemProcessor": {"StartAt": "C", "States": {
                  "C": {"Type": "Choice", "Default": "W",
                        "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "F"}]},
                  "F": {"Type": "Fail", "Error": "Big", "Cause": "too big"},
                  **_ITERATION["States"],
              }}},
    }},
}


def _run(definition: dict[str, Any], history: list[HistoryEvent] | None) -> tuple[Any, list[HistoryEvent]]:
    clock = VirtualClock(start=0.0)
    events: list[HistoryEvent] = []
    recorder = Recorder(clock.time, [events.append], last_id=history[-1].id if history else 1)
    engine = Engine(parse_definition(definition), tasks=None, clock=clock)
    value = [1, 2, 3, 4, 5]
    ctx = context(value, start=0.0)
    if history is None:
        return asyncio.run(engine.run(value, ctx, recorder)), events
    return asyncio.run(engine.resume(history, value, ctx, recorder)), events


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_a_resumed_map_records_nothing_twice_and_ends_the_same(name: str) -> None:
    outcome, full = _run(MACHINES[name], None)
    assert isinstance(outcome, Succeeded | Failed)
    for cut in range(len(full) + 1):
        prefix = full[:cut]
        resumed, rest = _run(MACHINES[name], prefix if prefix else [])
        assert resumed == outcome, (name, cut)
        events = prefix + rest
        assert [e.id for e in events] == list(range(2, len(events) + 2)), (name, cut)
        # the top-level Map's own events are recorded once; a Map nested in an iteration that was in
        # flight runs again with that iteration (at-least-once for unfinished work), so only "M" counts
        keys = Counter(
            (e.type, (e.details or {}).get("index")) for e in events
            if e.type.startswith(("MapIteration", "MapState")) and _top_level(e, name)
        )
        assert set(keys.values()) == {1}, (name, cut, keys)
        assert keys[("MapIterationStarted", 4)] == 1
        if name != "nested":
            assert keys[("MapStateStarted", None)] == keys[("MapStateEntered", None)] == 1


def _top_level(event: HistoryEvent, name: str) -> bool:
    """Whether a Map event is the top-level Map "M"'s: with a nested Map, only the events that name
    their Map are told apart (the Map-level ones of both interleave); without, all are M's."""
    named = (event.details or {}).get("name")
    return named == "M" if name == "nested" else True


def test_finished_iterations_carry_their_result_as_a_private_checkpoint() -> None:
    _, full = _run(MACHINES["concurrent"], None)
    ends = [e for e in full if e.type == "MapIterationSucceeded"]
    assert len(ends) == 5 and all(e.checkpoint for e in ends)
    assert all("checkpoint" not in str(e.to_api()) for e in ends)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_an_iteration_in_flight_goes_on_from_its_own_events(name: str) -> None:
    """Not only the Map's events: an unfinished iteration's finished inner states (and a nested Map's
    finished iterations) are not run again either, so no event at all is recorded twice."""
    _, full = _run(MACHINES[name], None)
    expected = Counter((e.type, str(e.details)) for e in full)
    for cut in range(len(full) + 1):
        _, rest = _run(MACHINES[name], full[:cut])
        got = Counter((e.type, str(e.details)) for e in full[:cut] + rest)
        assert got == expected, (name, cut, got - expected, expected - got)
