"""Payload templates (Parameters / ResultSelector / ItemSelector) rendered through ``compile_payload``.

Spec (ASL, "Parameters"): "If any field within the Payload Template ... has a name ending with the
characters ".$", its value is transformed according to rules below and the field is renamed to strip
the ".$" suffix. If the field value begins with only one "$", the value MUST be a Path. ... If the field
value begins with "$$", the first dollar sign is stripped and the remainder MUST be a Path. In this
case, the Path is applied to the Context Object." Recorded AWS results from the corpus.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.payload import InvalidPayload, compile_payload
from asyncgate.local.states.scope import Scope

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"
PREFIX = "An error occurred while executing the state '{}' (entered at the event id #2). "


def _pass_parameter_cases() -> list[Any]:
    """Executions whose whole machine is one JSONPath Pass state with Parameters: they isolate this layer."""
    if not CORPUS.exists():
        return []
    out = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        definition = case["definition"]
        states = definition.get("States", {})
        if case["kind"] == "test_state" or len(states) != 1 or definition.get("QueryLanguage") == "JSONata":
            continue
        ((name, state),) = states.items()
        if state.get("Type") != "Pass" or "Parameters" not in state:
            continue
        if set(state) - {"Type", "Parameters", "End", "Next", "Comment"}:
            continue
        out.append(pytest.param(name, state["Parameters"], case, id=case["id"]))
    return out


def _context(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "Execution": {"Id": "arn:exec", "Input": case["input"], "Name": "exec"},
        "StateMachine": {"Id": "arn:sm", "Name": "machine-name"},
    }


@pytest.mark.parametrize(("name", "parameters", "case"), _pass_parameter_cases())
def test_recorded_pass_parameters(name: str, parameters: Any, case: dict[str, Any]) -> None:
    expected = case["expected"]
    if expected["status"] == "INVALID_DEFINITION":
        with pytest.raises(InvalidPayload) as info:
            compile_payload(parameters)
        assert f"SCHEMA_VALIDATION_FAILED: {info.value} at " in expected["cause"]
        return
    payload = compile_payload(parameters)
    scope = Scope(input=case["input"], context=_context(case))
    if expected["status"] == "FAILED":
        with pytest.raises(StatesError) as error:
            payload.render(scope)
        assert error.value.error == expected["error"]
        cause = PREFIX.format(name) + (error.value.cause or "")
        pattern = case.get("volatile_patterns", {}).get("/cause")
        assert re.match(pattern, cause) if pattern else cause == expected["cause"]
        return
    output = payload.render(scope)
    if case.get("volatile"):
        return  # ARNs and names differ; covered by the engine's conformance run
    assert json.dumps(output) == json.dumps(expected["output"])  # key order and 1-vs-1.0 included


def test_corpus_cases_found() -> None:
    if not CORPUS.exists():
        pytest.fail(f"the conformance corpus is missing: {CORPUS}")
    assert len(_pass_parameter_cases()) > 100


def test_fields_paths_context_variables_and_nesting() -> None:
    template = {
        "literal": "$.not-a-path",
        "input.$": "$.a",
        "whole.$": "$",
        "ctx.$": "$$.Execution.Id",
        "var.$": "$order.id",
        "nested": {"deep.$": "$.a", "list": [1, {"x.$": "$.a"}, "$.literal"]},
        "call.$": "States.Format('{}-{}', $.a, $order.id)",
    }
    scope = Scope(input={"a": 1}, context={"Execution": {"Id": "arn:e"}}, variables={"order": {"id": 9}})
    assert compile_payload(template).render(scope) == {
        "literal": "$.not-a-path",
        "input": 1,
        "whole": {"a": 1},
        "ctx": "arn:e",
        "var": 9,
        "nested": {"deep": 1, "list": [1, {"x": 1}, "$.literal"]},
        "call": "1-9",
    }


def test_each_render_builds_fresh_containers() -> None:
    payload = compile_payload({"obj": {"k": [1, 2]}})
    first = payload.render(Scope(input={}))
    first["obj"]["k"].append(3)
    assert payload.render(Scope(input={})) == {"obj": {"k": [1, 2]}}


def test_result_selector_reads_the_result_as_input() -> None:
    # The engine passes the task result as the scope's input for ResultSelector.
    payload = compile_payload({"status.$": "$.Payload.status"})
    assert payload.render(Scope(input={"Payload": {"status": "ok"}})) == {"status": "ok"}


def test_missing_path_is_states_runtime_with_aws_wording() -> None:
    with pytest.raises(StatesError) as info:
        compile_payload({"outer": {"value.$": "$.nope"}}).render(Scope(input={"int-literal": 0}))
    assert info.value.error == "States.Runtime"
    assert info.value.cause == (
        "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the input "
        "'{\"int-literal\":0}'"
    )


@pytest.mark.parametrize(
    ("template", "field", "pointer"),
    [
        ({"x.$": "nope"}, "x.$", ""),
        ({"a": {"x.$": 3}}, "x.$", "/a"),
        ({"a": [{"x.$": "$."}]}, "x.$", "/a/0"),
        ({"x.$": "States.Nope()"}, "x.$", ""),
        ({"x.$": "States.Format('\\\"')"}, "x.$", ""),
    ],
)
def test_malformed_dollar_fields_are_invalid_definitions(template: Any, field: str, pointer: str) -> None:
    with pytest.raises(InvalidPayload) as info:
        compile_payload(template)
    assert str(info.value) == (
        f"The value for the field '{field}' must be a valid JSONPath or a valid intrinsic function call"
    )
    assert info.value.pointer == pointer
    assert info.value.reason


def test_non_object_templates() -> None:
    assert compile_payload("text").render(Scope(input={})) == "text"
    assert compile_payload([{"a.$": "$.x"}]).render(Scope(input={"x": 2})) == [{"a": 2}]
