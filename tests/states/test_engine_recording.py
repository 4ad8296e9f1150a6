"""The engine records through the service's ``Recorder`` directly: ids, details texts and branch tags
as AWS numbers and writes them; the context object follows the state's retries; a state's output
text is the next state's input text."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, Succeeded
from asyncgate.local.states.parse import parse_definition
from asyncgate.local.states.recorder import HistoryEvent, Recorder

from .engine_harness import context


def _run(definition: dict[str, Any], value: Any) -> tuple[Any, list[HistoryEvent]]:
    clock = VirtualClock()
    events: list[HistoryEvent] = []
    recorder = Recorder(clock.time, [events.append], last_id=1)
    engine = Engine(parse_definition(definition), tasks=None, clock=clock)
    outcome = asyncio.run(engine.run(value, context(value, start=clock.time()), recorder))
    return outcome, events


CHOICE_MAP = {
    "StartAt": "C",
    "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "M"}],
              "Default": "F"},
        "F": {"Type": "Fail", "Error": "NoItems"},
        "M": {"Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.out", "Next": "S",
              "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Parameters": {"v.$": "$"},
                                                               "End": True}}}},
        "S": {"Type": "Succeed"},
    },
}


def test_a_choice_and_map_execution_is_recorded_event_by_event() -> None:
    value = {"n": 2, "items": [1, "é"]}
    outcome, events = _run(CHOICE_MAP, value)
    out = {"n": 2, "items": [1, "é"], "out": [{"v": 1}, {"v": "é"}]}
    assert outcome == Succeeded(out)
    assert [(e.id, e.previous_event_id) for e in events] == [(i, i - 1) for i in range(2, 2 + len(events))]
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    out_text = json.dumps(out, separators=(",", ":"), ensure_ascii=False)
    assert [(e.type, e.details, e.checkpoint) for e in events] == [
        ("ChoiceStateEntered", {"name": "C", "input": text, "inputDetails": {"truncated": False}}, None),
        ("ChoiceStateExited", {"name": "C", "output": text, "outputDetails": {"truncated": False}}, None),
        ("MapStateEntered", {"name": "M", "input": text, "inputDetails": {"truncated": False}}, None),
        ("MapStateStarted", {"length": 2}, None),
        ("MapIterationStarted", {"name": "M", "index": 0}, None),
        ("PassStateEntered", {"name": "I", "input": "1", "inputDetails": {"truncated": False}},
         '{"in":[[4,0]]}'),
        ("PassStateExited", {"name": "I", "output": '{"v":1}', "outputDetails": {"truncated": False}},
         '{"in":[[4,0]],"end":true}'),
        ("MapIterationSucceeded", {"name": "M", "index": 0}, '{"output":{"v":1}}'),
        ("MapIterationStarted", {"name": "M", "index": 1}, None),
        ("PassStateEntered", {"name": "I", "input": '"é"', "inputDetails": {"truncated": False}},
         '{"in":[[4,1]]}'),
        ("PassStateExited", {"name": "I", "output": '{"v":"é"}', "outputDetails": {"truncated": False}},
         '{"in":[[4,1]],"end":true}'),
        ("MapIterationSucceeded", {"name": "M", "index": 1}, '{"output":{"v":"é"}}'),
        ("MapStateSucceeded", None, None),
        ("MapStateExited", {"name": "M", "output": out_text, "outputDetails": {"truncated": False}}, None),
        ("SucceedStateEntered", {"name": "S", "input": out_text, "inputDetails": {"truncated": False}},
         None),
        ("SucceedStateExited", {"name": "S", "output": out_text, "outputDetails": {"truncated": False}},
         None),
    ]


def test_the_context_object_shows_each_retry_of_the_state() -> None:
    # the iteration fails while $$.State.RetryCount (as its ItemSelector saw it) is 0, then passes
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemSelector": {"r.$": "$$.State.RetryCount", "i.$": "$$.Map.Item.Index",
                                 "s.$": "$$.State.Name"},
                "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1, "MaxAttempts": 3}],
                "ItemProcessor": {
                    "StartAt": "C",
                    "States": {
                        "C": {"Type": "Choice", "Choices": [{"Variable": "$.r", "NumericEquals": 0,
                                                              "Next": "Boom"}], "Default": "Ok"},
                        "Boom": {"Type": "Fail", "Error": "Boom"},
                        "Ok": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    outcome, _ = _run(definition, [10, 20])
    assert outcome == Succeeded([{"r": 1, "i": 0, "s": "M"}, {"r": 1, "i": 1, "s": "M"}])


def test_an_output_placed_into_its_input_is_written_anew_for_the_next_state() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Pass", "Result": 2, "ResultPath": "$.b", "End": True},
        },
    }
    outcome, events = _run(definition, {"x": 0})
    assert outcome == Succeeded({"x": 0, "a": 1, "b": 2})
    texts = [(e.details or {}).get("input") or (e.details or {}).get("output") for e in events]
    assert texts == ['{"x":0}', '{"x":0,"a":1}', '{"x":0,"a":1}', '{"x":0,"a":1,"b":2}']
