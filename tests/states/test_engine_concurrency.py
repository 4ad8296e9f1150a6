"""Map and Parallel: concurrency limits, cancellation on failure, history shapes, variable scopes.

Spec (Map): "MaxConcurrency ... an upper bound on how many invocations of the Iterator may run in
parallel"; (Parallel) "If any branch fails ... the entire Parallel State fails" and the interpreter
should stop the other branches. The Tasks here are served by a fake of AWS Lambda that counts how
many calls are in flight on the virtual clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Failed, Succeeded
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import run_definition
from tests.states.test_engine import FakeLambda

FN = "arn:aws:lambda:us-east-1:000000000000:function:work"


class Gauge:
    """A Lambda handler that sleeps on the virtual clock and records peak concurrency."""

    def __init__(self, clock: VirtualClock, seconds: float = 1.0) -> None:
        self.clock, self.seconds = clock, seconds
        self.now = self.peak = 0
        self.finished: list[Any] = []

    async def __call__(self, event: Any) -> Any:
        self.now += 1
        self.peak = max(self.peak, self.now)
        try:
            await self.clock.sleep(self.seconds)
            if event == "fail":
                raise RuntimeError("item failed")
            self.finished.append(event)
            return event
        finally:
            self.now -= 1


def map_definition(max_concurrency: int | None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemProcessor": {
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": FN, "End": True}},
        },
        "End": True,
        **extra,
    }
    if max_concurrency is not None:
        state["MaxConcurrency"] = max_concurrency
    return {"StartAt": "M", "States": {"M": state}}


def run(definition: Any, value: Any, handler: Any, clock: VirtualClock) -> Any:
    tasks = LambdaTasks(FakeLambda(work=handler))
    return asyncio.run(run_definition(definition, value, tasks=tasks, clock=clock))


def test_map_max_concurrency_is_respected() -> None:
    clock = VirtualClock(start=0.0)
    gauge = Gauge(clock)
    outcome, events = run(map_definition(2), list(range(5)), gauge, clock)
    assert outcome == Succeeded([0, 1, 2, 3, 4])
    assert gauge.peak == 2
    assert clock.time() == 3.0  # ceil(5 / 2) rounds of 1 s
    assert events.items[1] == (3, "MapStateStarted", {"length": 5})
    assert events.types.count("MapIterationStarted") == 5 and events.types.count("MapIterationSucceeded") == 5
    assert events.types[-2:] == ["MapStateSucceeded", "MapStateExited"]


def test_map_max_concurrency_zero_means_unbounded() -> None:
    clock = VirtualClock(start=0.0)
    gauge = Gauge(clock)
    outcome, _ = run(map_definition(0), list(range(6)), gauge, clock)
    assert isinstance(outcome, Succeeded) and gauge.peak == 6 and clock.time() == 1.0


def test_map_first_failure_fails_the_state_and_aborts_the_rest() -> None:
    clock = VirtualClock(start=0.0)
    gauge = Gauge(clock)
    outcome, events = run(map_definition(2), ["fail", "slow", "x", "y"], gauge, clock)
    assert isinstance(outcome, Failed) and outcome.error == "RuntimeError"
    assert "MapIterationFailed" in events.types and "MapIterationAborted" in events.types
    assert events.types[-1] == "MapStateFailed"
    assert "x" not in gauge.finished and "y" not in gauge.finished


def test_map_tolerated_failures_keep_error_outputs() -> None:
    clock = VirtualClock(start=0.0)
    outcome, _ = run(map_definition(1, ToleratedFailureCount=1), ["a", "fail", "b"], Gauge(clock), clock)
    assert isinstance(outcome, Succeeded)
    assert outcome.output[0] == "a" and outcome.output[2] == "b"
    assert outcome.output[1]["Error"] == "RuntimeError"


def test_map_over_tolerance_is_exceed_tolerated_failure_threshold() -> None:
    clock = VirtualClock(start=0.0)
    outcome, _ = run(map_definition(1, ToleratedFailureCount=1), ["fail", "fail", "b"], Gauge(clock), clock)
    assert isinstance(outcome, Failed) and outcome.error == "States.ExceedToleratedFailureThreshold"


def test_parallel_failure_cancels_siblings() -> None:
    clock = VirtualClock(start=0.0)
    started: list[str] = []
    finished: list[str] = []

    async def handler(event: Any) -> Any:
        started.append(event)
        if event == "fail":
            await clock.sleep(1)
            raise ValueError("branch broke")
        await clock.sleep(100)
        finished.append(event)
        return event

    def branch(value: str) -> dict[str, Any]:
        return {
            "StartAt": f"T-{value}",
            "States": {f"T-{value}": {"Type": "Task", "Resource": FN, "Parameters": value, "End": True}},
        }

    definition = {
        "StartAt": "P",
        "States": {"P": {"Type": "Parallel", "Branches": [branch("slow"), branch("fail")], "End": True}},
    }
    outcome, events = run(definition, {}, handler, clock)
    assert isinstance(outcome, Failed) and outcome.error == "ValueError"
    assert sorted(started) == ["fail", "slow"] and finished == []
    assert clock.time() == 1.0
    assert events.types[:2] == ["ParallelStateEntered", "ParallelStateStarted"]
    assert events.types[-1] == "ParallelStateFailed"


def test_parallel_outputs_in_branch_order_and_inner_variables_stay_inside() -> None:
    definition = {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"outer": 1}, "Next": "P"},
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {
                        "StartAt": "A",
                        "States": {
                            "A": {
                                "Type": "Pass",
                                "Parameters": {"seen.$": "$outer"},
                                "Assign": {"inner": 2},
                                "End": True,
                            }
                        },
                    },
                    {"StartAt": "B", "States": {"B": {"Type": "Wait", "Seconds": 5, "End": True}}},
                ],
                "Next": "After",
            },
            "After": {"Type": "Pass", "Parameters": {"outer.$": "$outer", "branches.$": "$"}, "End": True},
        },
    }
    outcome, _ = asyncio.run(run_definition(definition, {"in": 1}))
    assert outcome == Succeeded({"outer": 1, "branches": [{"seen": 1}, {"in": 1}]})

    leak = dict(definition)
    leak["States"] = dict(
        definition["States"], After={"Type": "Pass", "Parameters": {"x.$": "$inner"}, "End": True}
    )
    outcome, _ = asyncio.run(run_definition(leak, {}))
    assert isinstance(outcome, Failed) and outcome.error == "States.Runtime"


def test_distributed_map_records_a_map_run_not_the_iterations() -> None:
    definition = map_definition(None)
    definition["States"]["M"]["ItemProcessor"] = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    outcome, events = asyncio.run(run_definition(definition, [1, 2]))
    assert outcome == Succeeded([1, 2])
    assert events.types == [
        "MapStateEntered",
        "MapStateStarted",
        "MapRunStarted",
        "MapRunSucceeded",
        "MapStateSucceeded",
        "MapStateExited",
    ]
    assert ":mapRun:machine/M:" in events.items[2][2]["mapRunArn"]
