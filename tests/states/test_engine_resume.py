"""Resuming from recorded history: cut a recorded run after *every* event, resume from that prefix,
and the execution must end as the uninterrupted run did, with ids that continue the prefix's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, Failed, Succeeded
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.resume import resume_point
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import Events, context
from tests.states.test_engine import FakeLambda

FN = "arn:aws:lambda:us-east-1:000000000000:function:work"


def _work(event: Any) -> Any:
    if isinstance(event, dict) and event.get("fail"):
        raise LookupError("asked to fail")
    return {"done": event}


MACHINES: dict[str, dict[str, Any]] = {
    "pass-assign-choice": {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": {"n": 3}, "Assign": {"seen.$": "$.n"}, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$seen", "NumericGreaterThan": 2, "Next": "Big"}],
                "Default": "Small",
            },
            "Big": {"Type": "Pass", "Parameters": {"v.$": "$seen"}, "Next": "W"},
            "Small": {"Type": "Fail", "Error": "Small"},
            "W": {"Type": "Wait", "Seconds": 5, "End": True},
        },
    },
    "task-catch": {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": FN,
                "Parameters": {"fail": True},
                "Catch": [{"ErrorEquals": ["LookupError"], "ResultPath": "$.err", "Next": "After"}],
                "Next": "Never",
            },
            "Never": {"Type": "Fail", "Error": "WrongWay"},
            "After": {"Type": "Task", "Resource": FN, "End": True},
        },
    },
    "parallel-map": {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "B1", "States": {"B1": {"Type": "Task", "Resource": FN, "End": True}}},
                    {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "Result": [1, 2], "End": True}}},
                ],
                "Next": "M",
            },
            "M": {
                "Type": "Map",
                "ItemsPath": "$[1]",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Task", "Resource": FN, "End": True}},
                },
                "End": True,
            },
        },
    },
    "failing": {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": FN, "Parameters": {"fail": True}, "End": True}},
    },
}


class Numbered(Events):
    def __init__(self, last_id: int) -> None:
        super().__init__()
        self.last_id = last_id


def _engine(definition: dict[str, Any], clock: VirtualClock) -> Engine:
    return Engine(parse_definition(definition), tasks=LambdaTasks(FakeLambda(work=_work)), clock=clock)


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_resume_after_any_event_ends_like_the_uninterrupted_run(name: str) -> None:
    definition = MACHINES[name]
    clock = VirtualClock(start=0.0)
    full = Events()
    outcome = asyncio.run(_engine(definition, clock).run({"in": 1}, context({"in": 1}, start=0.0), full))
    assert isinstance(outcome, Succeeded | Failed)
    history = [(t, d) for _, t, d in full.items]
    for cut in range(len(history) + 1):
        prefix = history[:cut]
        rest = Numbered(last_id=cut + 1)
        resumed = asyncio.run(
            _engine(definition, VirtualClock(start=0.0)).resume(
                prefix, {"in": 1}, context({"in": 1}, start=0.0), rest
            )
        )
        assert resumed == outcome, (name, cut, prefix[-1:] if prefix else None)
        if rest.items:
            assert rest.items[0][0] == cut + 2  # numbering continues after the prefix


def test_resume_point_replays_variables_and_keeps_the_entered_id() -> None:
    d = parse_definition(MACHINES["pass-assign-choice"])
    history = [
        ("PassStateEntered", {"name": "A", "input": "{}"}),
        ("PassStateExited", {"name": "A", "output": '{"n":3}', "assignedVariables": {"seen": "3"}}),
        ("ChoiceStateEntered", {"name": "C", "input": '{"n":3}'}),
    ]
    point = resume_point(d, history)
    assert (point.state, point.value, point.variables, point.entered_event_id) == (
        "C",
        {"n": 3},
        {"seen": 3},
        4,
    )


def test_resume_of_a_finished_machine_returns_its_output() -> None:
    d = parse_definition(MACHINES["pass-assign-choice"])
    point = resume_point(
        d,
        [
            ("WaitStateEntered", {"name": "W", "input": "1"}),
            ("WaitStateExited", {"name": "W", "output": "1"}),
        ],
    )
    assert point.finished is not None and point.finished.output == 1
