"""JSONata expressions and templates as Step Functions evaluates them.

Quotes are from the Step Functions developer guide, "Transforming data with JSONata in Step
Functions"; causes marked "recorded" are AWS's, from /work/shared/conformance/asl/cases.jsonl (the
engine prefixes "An error occurred while executing the state ...").
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.jsonata import (
    UNDEFINED,
    compile_jsonata,
    compile_template,
    is_jsonata_expression,
)
from asyncgate.local.states.scope import Scope

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"
PREFIX = "An error occurred while executing the state '{}' (entered at the event id #2). "


def _pass_output_cases() -> list[Any]:
    """Executions of one JSONata Pass state with Output: they isolate the template layer."""
    if not CORPUS.exists():
        return []
    out = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        definition = case["definition"]
        states = definition.get("States", {})
        if case["kind"] == "test_state" or len(states) != 1:
            continue
        ((name, state),) = states.items()
        language = state.get("QueryLanguage") or definition.get("QueryLanguage")
        if state.get("Type") != "Pass" or "Output" not in state or language != "JSONata":
            continue
        if set(state) - {"Type", "Output", "End", "Next", "QueryLanguage", "Comment"}:
            continue
        out.append(pytest.param(name, state["Output"], case, id=case["id"]))
    return out


@pytest.mark.parametrize(("name", "output", "case"), _pass_output_cases())
def test_recorded_pass_outputs(name: str, output: Any, case: dict[str, Any]) -> None:
    template = compile_template(output, field="Output")
    scope = Scope(input=case["input"], context={"Execution": {"Input": case["input"]}})
    expected = case["expected"]
    if expected["status"] == "FAILED":
        with pytest.raises(StatesError) as info:
            template.render(scope)
        assert info.value.error == expected["error"]
        assert PREFIX.format(name) + (info.value.cause or "") == expected["cause"]
        return
    assert json.dumps(template.render(scope)) == json.dumps(expected["output"])


def test_corpus_cases_found() -> None:
    if not CORPUS.exists():
        pytest.fail(f"the conformance corpus is missing: {CORPUS}")
    assert len(_pass_output_cases()) >= 30


def test_only_exact_delimiters_make_an_expression() -> None:
    # "JSONata syntax: "{% <JSONata expression> %}""; recorded: " {% states.input %} " stays a literal.
    assert is_jsonata_expression("{% 1 %}")
    assert not is_jsonata_expression(" {% states.input %} ")
    assert not is_jsonata_expression("{%")
    assert not is_jsonata_expression(1)
    template = compile_template({"a": " {% states.input %} ", "b": "$states.input", "c.$": "$"})
    assert template.is_constant
    assert template.render(Scope(input={})) == {"a": " {% states.input %} ", "b": "$states.input", "c.$": "$"}


def test_states_and_variables_are_bound() -> None:
    # "$states.input ... $states.result ... $states.errorOutput ... $states.context"
    scope = Scope(input={"a": 1}, context={"State": {"Name": "S"}}, variables={"v": None, "w": [1, 2]})
    assert compile_jsonata("$states").evaluate(scope) == {
        "input": {"a": 1},
        "context": {"State": {"Name": "S"}},
    }
    with_result = Scope(input=1, result={"r": 2}, error_output={"Error": "E"})
    assert compile_jsonata("$states.result.r").evaluate(with_result) == 2
    assert compile_jsonata("$states.errorOutput.Error").evaluate(with_result) == "E"
    assert compile_jsonata("$v = null").evaluate(scope) is True  # a null variable is null, not undefined
    assert compile_jsonata("$sum($w)").evaluate(scope) == 3


def test_numbers_are_json_numbers() -> None:
    # recorded: $sum([1, 2, 3]) + 1 is 7 in the output, not 7.0
    scope = Scope(input={"xs": [1, 2, 3], "f": 1.5})
    for text, expected in [("$sum($states.input.xs) + 1", "7"), ("$states.input.f * 2", "3"), ("0.5", "0.5")]:
        assert json.dumps(compile_jsonata(text).evaluate(scope)) == expected
    assert compile_jsonata("null").evaluate(scope) is None
    assert compile_jsonata("[1, null]").evaluate(scope) == [1, None]


@pytest.mark.parametrize(
    ("field", "expression"),
    [
        ("Output", "$doesNotExist"),
        ("Output/result", "$doesNotExist"),
        ("Arguments/FunctionName", "$doesNotExist"),
    ],
)
def test_undefined_is_a_query_evaluation_error(field: str, expression: str) -> None:
    # recorded: "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned
    # nothing (undefined)."
    top, _, key = field.partition("/")
    template = compile_template({key: "{% " + expression + " %}"} if key else "{% " + expression + " %}", top)
    with pytest.raises(StatesError) as info:
        template.render(Scope(input={}))
    assert info.value.error == "States.QueryEvaluationError"
    where = f"The JSONata expression '{expression}' specified for the field '{field}'"
    assert info.value.cause == f"{where} returned nothing (undefined)."
    assert compile_jsonata(expression).evaluate(Scope(input={}), allow_undefined=True) is UNDEFINED


def test_no_top_level_input_context() -> None:
    # "You cannot use $ or $$ at the top level"; unqualified names see nothing.
    assert compile_jsonata("foo").evaluate(Scope(input={"foo": 1}), allow_undefined=True) is UNDEFINED


def test_evaluation_errors_carry_the_jsonata_code() -> None:
    # recorded: "... threw an error during evaluation. T1006: Attempted to invoke a non-function"
    with pytest.raises(StatesError) as info:
        compile_jsonata("$randomSeeded(1)", "Output/FunctionResult").evaluate(Scope(input={}))
    assert info.value.cause == (
        "The JSONata expression '$randomSeeded(1)' specified for the field 'Output/FunctionResult' threw an "
        "error during evaluation. T1006: Attempted to invoke a non-function"
    )
    with pytest.raises(StatesError, match=r"T2001"):
        compile_jsonata("'a' + 1").evaluate(Scope(input={}))
    with pytest.raises(StatesError, match=r"threw an error during evaluation\. D1001: Number out of range"):
        compile_jsonata("1/0").evaluate(Scope(input={}))


def test_a_function_is_an_unsupported_result() -> None:
    # recorded: "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an
    # unsupported result type."
    with pytest.raises(StatesError) as info:
        compile_jsonata("$fn := function($x){$x}", "Items").evaluate(Scope(input={}))
    assert info.value.cause == (
        "The JSONata expression '$fn := function($x){$x}' specified for the field 'Items' returned an "
        "unsupported result type."
    )


def test_step_functions_functions() -> None:
    scope = Scope(input={})
    # recorded: $partition([0, 1, 2], 2) and $range(0, 10, 3)
    assert compile_jsonata("$partition([0, 1, 2], 2)").evaluate(scope) == [[0, 1], [2]]
    assert compile_jsonata("$range(0, 10, 3)").evaluate(scope) == [0, 3, 6, 9]
    assert compile_jsonata("$range(10, 0, -5)").evaluate(scope) == [10, 5, 0]
    assert compile_jsonata("$hash('input data', 'MD5')").evaluate(scope) == "812f45842bc6d66ee14572ce20db8e86"
    assert 0 <= compile_jsonata("$random()").evaluate(scope) < 1
    assert compile_jsonata("$random(7)").evaluate(scope) == compile_jsonata("$random(7)").evaluate(scope)
    assert uuid.UUID(compile_jsonata("$uuid()").evaluate(scope)).version == 4
    # recorded: $parse("-0") is 0; $parse('{"Arg1": 1, "Arg2": []}') an object
    assert json.dumps(compile_jsonata("$parse('-0')").evaluate(scope)) == "0"
    assert compile_jsonata("$parse('{\"a\": [1]}')").evaluate(scope) == {"a": [1]}
    for bad in ["$partition([1], 0)", "$hash('x', 'SHA-3')", "$parse('{')", "$eval('1')", "$range(1)"]:
        with pytest.raises(StatesError) as info:
            compile_jsonata(bad).evaluate(scope)
        assert info.value.error == "States.QueryEvaluationError"


def test_regex_literals() -> None:
    # recorded: $contains("hello$world", /^hello\$/) is true; /^hello\ / is false
    assert compile_jsonata('$contains("hello$world", /^hello\\$/)').evaluate(Scope(input={})) is True
    assert compile_jsonata('$contains("hello$world", /^hello\\ /)').evaluate(Scope(input={})) is False


def test_syntax_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="S0207"):
        compile_jsonata("1 +")
    with pytest.raises(ValueError):
        compile_template({"a": ["{% ( %}"]})


def test_templates_recurse_and_name_nested_fields() -> None:
    template = compile_template({"a": ["{% $states.input.x %}", {"b": "{% $nope %}"}]}, field="Arguments")
    assert not template.is_constant
    with pytest.raises(StatesError, match="'Arguments/a/1/b' returned nothing"):
        template.render(Scope(input={"x": 1}))
    ok = compile_template({"a": ["{% $states.input.x %}", 2]}, field="Arguments")
    assert ok.render(Scope(input={"x": 1})) == {"a": [1, 2]}
