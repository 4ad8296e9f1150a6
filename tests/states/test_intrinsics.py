"""Intrinsic functions: the parser (escapes, nesting, arity) and every ``States.*`` function.

Quotes are from the Step Functions developer guide, "Intrinsic functions for JSONPath states"; results
marked "recorded" are AWS's, from /work/shared/conformance/asl/cases.jsonl.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.intrinsic_functions import FUNCTIONS
from asyncgate.local.states.intrinsics import compile_intrinsic
from asyncgate.local.states.scope import Scope

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"


def run(text: str, input: Any = None, **scope: Any) -> Any:
    return compile_intrinsic(text, "f.$").evaluate(Scope(input=input, **scope))


def fails(text: str, input: Any = None) -> StatesError:
    with pytest.raises(StatesError) as info:
        run(text, input)
    return info.value


# -- recorded results: every single-field intrinsic case of the corpus, evaluated directly --------


def _intrinsic_cases() -> list[Any]:
    if not CORPUS.exists():
        return []
    out = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        states = case["definition"].get("States", {})
        if not case["category"].startswith("intrinsic_functions/") or len(states) != 1:
            continue
        (state,) = states.values()
        params = state.get("Parameters")
        if (
            state.get("Type") != "Pass"
            or not isinstance(params, dict)
            or list(params) != ["FunctionResult.$"]
        ):
            continue
        if case["expected"]["status"] != "SUCCEEDED" or case.get("volatile"):
            continue
        out.append(pytest.param(params["FunctionResult.$"], case, id=case["id"]))
    return out


@pytest.mark.parametrize(("text", "case"), _intrinsic_cases())
def test_recorded_results(text: str, case: dict[str, Any]) -> None:
    expected = case["expected"]["output"]["FunctionResult"]
    result = run(text, case["input"], context={"Execution": {"Input": case["input"]}})
    if expected in ("RandomNumberGenerated", "generated-uuid"):
        return  # masked in the recording
    assert result == expected
    assert json.dumps(result) == json.dumps(expected)  # 1, not 1.0


def test_corpus_has_intrinsic_cases() -> None:
    if not CORPUS.exists():
        pytest.fail(f"the conformance corpus is missing: {CORPUS}")
    assert len(_intrinsic_cases()) > 80


# -- the parser ----------------------------------------------------------------------------------


def test_reserved_characters_are_escaped_with_a_backslash() -> None:
    # "The literal string \' represents '. \{ represents {. \} represents }. \\ represents \."
    assert run(r"States.Format('it\'s \{\} {} \\', 1)") == "it's {} 1 \\"


@pytest.mark.parametrize(
    "text",
    [
        # recorded INVALID_DEFINITION (test_illegal_escapes): \" is not an intrinsic escape
        'States.StringToJson(\'{"text":"An \\"escaped double quote\\" here"}\')',
        "States.Format('He said, \\\"Hello, {}!\\\"', 'Test \\\"Name\\\" Here')",
        "States.Format('a\\nb')",
    ],
)
def test_other_escapes_are_rejected_at_compile_time(text: str) -> None:
    with pytest.raises(ValueError, match="Illegal escape"):
        compile_intrinsic(text)


def test_unescaped_braces_outside_format_are_literal() -> None:
    # recorded (test_json_merge_escaped_argument): StringToJson('{"constant_in_literal": "false"}')
    assert run('States.StringToJson(\'{"a": "false"}\')') == {"a": "false"}


def test_nesting_up_to_ten_calls() -> None:
    # "You can nest up to 10 intrinsic functions within a field." (the guide's 9-deep example)
    arn = "arn:aws:imagebuilder:us-east-1:1:image-recipe/my.recipe.name/1.0.0"
    example = (
        "States.Format('{}.{}.{}', States.ArrayGetItem(States.StringSplit(States.ArrayGetItem("
        "States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 0), States.ArrayGetItem(States.StringSplit("
        "States.ArrayGetItem(States.StringSplit($.ImageRecipe.Arn, '/'), 2), '.'), 1))"
    )
    compile_intrinsic(example)  # as printed it has three {} for two arguments: that fails when run
    assert fails(example, {"ImageRecipe": {"Arn": arn}}).error == "States.IntrinsicFailure"
    assert run(example.replace("{}.{}.{}", "{}.{}"), {"ImageRecipe": {"Arn": arn}}) == "1.0"
    eleven = "States.Array(" * 11 + ")" * 11
    with pytest.raises(ValueError, match="nested at most 10"):
        compile_intrinsic(eleven)
    assert run("States.Array(" * 10 + ")" * 10) == [[[[[[[[[[]]]]]]]]]]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("States.Nope(1)", "Unknown intrinsic function"),
        ("States.Array(1", "Expected ',' or ')'"),
        ("States.ArrayLength()", "takes 1 arguments"),
        ("States.MathRandom(1)", "takes 2 to 3 arguments"),
        ("States.Format()", "takes at least 1"),
        ("States.Format(1)", "must be a string"),
        ("States.Array('x)", "Unterminated"),
        ("States.Array(x)", "Expected a string"),
        ("States.Array($.)", "Path must not end"),
        ("States.UUID() extra", "Unexpected text"),
    ],
)
def test_malformed_calls_raise_value_error(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(why)):
        compile_intrinsic(text)


def test_arguments_literals_paths_and_nested_calls() -> None:
    scope = {"context": {"Execution": {"Name": "run-1"}}, "variables": {"v": {"k": [1, 2]}}}
    assert run(
        "States.Array('s', 1, -2.5, null, true, false, $.a, $$.Execution.Name, $v.k)", {"a": {}}, **scope
    ) == [
        "s",
        1,
        -2.5,
        None,
        True,
        False,
        {},
        "run-1",
        [1, 2],
    ]
    assert run(
        "States.Array($.items[?(@.n > 1)].n, $['a,b'])", {"items": [{"n": 1}, {"n": 2}], "a,b": 0}
    ) == [
        [2],
        0,
    ]


def test_an_argument_path_that_matches_nothing_is_states_runtime() -> None:
    # Same wording AWS recorded for a Parameters path (test_invalid_jsonpath).
    error = fails("States.Array($.missing)", {"a": 1})
    assert error.error == "States.Runtime"
    assert error.cause == (
        "The JSONPath '$.missing' specified for the field 'f.$' could not be found in the input '{\"a\":1}'"
    )


# -- the functions -------------------------------------------------------------------------------


def test_format_prints_values_as_aws_does() -> None:
    # recorded: null -> "null", 1.1 -> "1.1", an object -> {Id=..., Name=...}
    assert run(
        "States.Format('{} {} {} {}', $.a, $.b, $.c, $.d)", {"a": None, "b": 1.1, "c": True, "d": "s"}
    ) == ("null 1.1 true s")
    assert run("States.Format('{}', $.o)", {"o": {"Id": "x", "L": [1, "a"]}}) == "{Id=x, L=[1, a]}"
    assert (
        run("States.Format($.t, $.n)", {"t": "Hello, my name is {}.", "n": "Arnav"})
        == "Hello, my name is Arnav."
    )
    assert fails("States.Format($.t, 1)", {"t": "{} {}"}).error == "States.IntrinsicFailure"


def test_string_to_json_and_back() -> None:
    # "The interpreter applies a JSON parser and returns its parsed JSON form."
    assert run("States.StringToJson($.s)", {"s": '{"foo": "bar"}'}) == {"foo": "bar"}
    assert run("States.StringToJson($.s)", {"s": " "}) is None  # recorded
    assert fails("States.StringToJson($.s)", {"s": "{nope"}).error == "States.IntrinsicFailure"
    # "returns a string which is a JSON text representing the data" (recorded: compact)
    assert run("States.JsonToString($.o)", {"o": {"Arg1": 1, "Arg2": []}}) == '{"Arg1":1,"Arg2":[]}'


def test_array_functions() -> None:
    # "If the number of items remaining in the array is smaller than the chunk size, the last array..."
    assert run("States.ArrayPartition(States.Array(1, 2, 3, 4, 5), 2)") == [[1, 2], [3, 4], [5]]
    assert fails("States.ArrayPartition(States.Array(1), 0)").error == "States.IntrinsicFailure"
    assert run("States.ArrayContains(States.Array(1, 'a', true), true)") is True
    assert run("States.ArrayContains(States.Array(1), true)") is False  # true is not 1
    assert run("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert run("States.ArrayRange(9, 1, -4)") == [9, 5, 1]
    # "The array can contain up to 1000 items."
    assert len(run("States.ArrayRange(1, 1000, 1)")) == 1000
    assert "1000" in (fails("States.ArrayRange(0, 1000, 1)").cause or "")
    assert run("States.ArrayGetItem(States.Array(1, 2, 3), 1)") == 2
    assert fails("States.ArrayGetItem(States.Array(1), 1)").error == "States.IntrinsicFailure"
    assert run("States.ArrayLength(States.Array())") == 0
    assert run("States.ArrayUnique($.a)", {"a": [1, 2, 2, 3, 3, 4, {"x": 1}, {"x": 1}, True]}) == [
        1,
        2,
        3,
        4,
        {"x": 1},
        True,
    ]
    assert fails("States.ArrayLength('x')").error == "States.IntrinsicFailure"


def test_encoding_and_hashing() -> None:
    assert run("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert run("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"
    assert fails("States.Base64Decode('***')").error == "States.IntrinsicFailure"
    # "The input string can contain up to 10,000 characters."
    assert fails("States.Base64Encode($.s)", {"s": "x" * 10_001}).error == "States.IntrinsicFailure"
    # recorded: MD5/SHA-1 of "input data"
    assert run("States.Hash('input data', 'MD5')") == "812f45842bc6d66ee14572ce20db8e86"
    assert run("States.Hash('input data', 'SHA-1')") == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    assert len(run("States.Hash('input data', 'SHA-384')")) == 96
    assert fails("States.Hash('x', 'SHA-3')").error == "States.IntrinsicFailure"


def test_json_merge_is_shallow_only() -> None:
    # recorded: the second object's "a" replaces the first's wholesale
    merged = run("States.JsonMerge($.a, $.b, false)", {"a": {"a": {"x": 1}, "b": 2}, "b": {"a": {"y": 1}}})
    assert merged == {"a": {"y": 1}, "b": 2}
    assert fails("States.JsonMerge($.a, $.a, true)", {"a": {}}).error == "States.IntrinsicFailure"
    assert fails("States.JsonMerge($.a, 1, false)", {"a": {}}).error == "States.IntrinsicFailure"


def test_math() -> None:
    # recorded: MathAdd rounds each argument half up (1.5 -> 2, -1.5 -> -1, -2.5 -> -2) before adding
    assert run("States.MathAdd(1.49, 1.5)") == 3
    assert run("States.MathAdd(-2.5, 0)") == -2
    assert run("States.MathAdd(-1, 1)") == 0
    assert fails("States.MathAdd(2147483647, 1)").error == "States.IntrinsicFailure"
    value = run("States.MathRandom(1, 999)")
    assert isinstance(value, int) and 1 <= value < 999
    assert run("States.MathRandom(1, 999, 7)") == run("States.MathRandom(1, 999, 7)")  # seeded


def test_string_split_and_uuid() -> None:
    # recorded: "This.is+a,test=string" split on ".+,=" and ",,,," -> []
    assert run("States.StringSplit('This.is+a,test=string', '.+,=')") == ["This", "is", "a", "test", "string"]
    assert run("States.StringSplit(',,,,', ',')") == []
    assert uuid.UUID(run("States.UUID()")).version == 4


# -- properties ----------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(sorted(n for n in FUNCTIONS if n != "States.Format")),
    args=st.lists(_json, max_size=3),
)
def test_functions_raise_only_states_errors(name: str, args: list[Any]) -> None:
    function = FUNCTIONS[name]
    if len(args) < function.min_args or (function.max_args is not None and len(args) > function.max_args):
        return  # arity is checked by the parser
    try:
        function.call(args)
    except StatesError as exc:
        assert exc.error == "States.IntrinsicFailure"


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet="States.FormatArayLngh()$'{}\\,.0123 -xnul", max_size=40))
def test_parser_raises_only_value_error_and_evaluation_only_states_error(text: str) -> None:
    try:
        call = compile_intrinsic(text)
    except ValueError:
        return
    with contextlib.suppress(StatesError):
        call.evaluate(Scope(input={"x": 1}))
