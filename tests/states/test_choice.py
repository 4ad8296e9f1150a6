"""Choice Rules: every comparison operator, ``Is*`` tests, boolean nesting, JSONata Condition.

Quotes are from the Amazon States Language specification ("Choice State") and the Step Functions
developer guide ("Choice workflow state"); results marked "recorded" are AWS's, from
/work/shared/conformance/asl/cases.jsonl.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.states.choice import InvalidChoiceRule, compile_choice_rule, parse_timestamp
from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.scope import Scope

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"
RULE_ONLY = ("Next", "Assign", "Output", "Comment")


def _operator_cases() -> list[Any]:
    """The choice_operators recordings: one Choice state, ConditionTrue / ConditionFalse Pass states."""
    if not CORPUS.exists():
        return []
    out = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        if case["category"].startswith("choice_operators/"):
            out.append(pytest.param(case, id=case["id"]))
    return out


def matches(rule: dict[str, Any], input: Any, language: str = "JSONPath", **scope: Any) -> bool:
    return compile_choice_rule(rule, query_language=language).matches(Scope(input=input, **scope))


@pytest.mark.parametrize("case", _operator_cases())
def test_recorded_operator_results(case: dict[str, Any]) -> None:
    state = case["definition"]["States"]["CheckValues"]
    taken = state.get("Default")
    for choice in state["Choices"]:
        rule = {k: v for k, v in choice.items() if k not in RULE_ONLY}
        if compile_choice_rule(rule, query_language="JSONPath").matches(Scope(input=case["input"])):
            taken = choice["Next"]
            break
    assert case["expected"]["output"] == {"TestResult.$": taken}


def test_corpus_cases_found() -> None:
    if not CORPUS.exists():
        pytest.fail(f"the conformance corpus is missing: {CORPUS}")
    assert len(_operator_cases()) > 350


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ({"StringEquals": "a"}, "a", True),
        ({"StringEquals": "a"}, 1, False),  # type mismatch: false, not an error
        ({"StringLessThan": "b"}, "a", True),
        ({"StringGreaterThan": "b"}, "a", False),
        ({"StringLessThanEquals": "a"}, "a", True),
        ({"StringGreaterThanEquals": "b"}, "a", False),
        ({"NumericEquals": 1}, 1.0, True),
        ({"NumericEquals": 1}, True, False),  # a boolean is not a number
        ({"NumericLessThan": 1}, 0.5, True),
        ({"NumericGreaterThan": 1}, "2", False),
        ({"NumericLessThanEquals": 1}, 1, True),
        ({"NumericGreaterThanEquals": 1.5}, 1, False),
        ({"BooleanEquals": True}, True, True),
        ({"BooleanEquals": False}, 0, False),
        ({"TimestampEquals": "2012-10-09T18:00:55Z"}, "2012-10-09T19:00:55+01:00", True),
        ({"TimestampLessThan": "2012-10-09T19:00:55Z"}, "2012-10-09T19:00:54.999Z", True),
        ({"TimestampGreaterThan": "2012-10-09T19:00:55Z"}, "2012-10-09 19:00:56Z", False),  # not RFC 3339
        ({"TimestampLessThanEquals": "2012-10-09T19:00:55Z"}, "2012-10-09T19:00:55.000000001Z", False),
        ({"TimestampGreaterThanEquals": "2012-10-09T19:00:55Z"}, "2012-10-09T19:00:55Z", True),
    ],
)
def test_comparisons(rule: dict[str, Any], value: Any, expected: bool) -> None:
    assert matches({"Variable": "$.v", **rule}, {"v": value}) is expected


def test_path_operators_compare_two_paths() -> None:
    # "...Path: the value of the Variable is compared to the value at the path in the operator's field"
    doc = {"a": 2, "b": 2, "s": "x", "t": "2016-03-14T01:59:00Z"}
    assert matches({"Variable": "$.a", "NumericEqualsPath": "$.b"}, doc)
    assert matches({"Variable": "$.a", "NumericLessThanEqualsPath": "$.b"}, doc)
    assert not matches({"Variable": "$.a", "StringEqualsPath": "$.s"}, doc)
    assert matches({"Variable": "$.t", "TimestampEqualsPath": "$$.Now"}, doc, context={"Now": doc["t"]})
    assert matches({"Variable": "$limit", "NumericGreaterThanPath": "$.a"}, doc, variables={"limit": 3})


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("log-*.txt", "log-2024.txt", True),
        ("*.log", "a.log", True),
        ("*.log", "a.log.gz", False),
        ("literal\\*star", "literal*star", True),
        ("literal\\*star", "literalXstar", False),
        ("back\\\\slash*", "back\\slash!", True),
        ("*", "", True),
        ("a*b*c", "a-b-\nc", True),
    ],
)
def test_string_matches(pattern: str, value: str, expected: bool) -> None:
    # "StringMatches ... the wildcard character * matches zero or more characters; \* matches a literal *"
    assert matches({"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("IsNull", None, True),
        ("IsNull", 0, False),
        ("IsNumeric", 1.5, True),
        ("IsNumeric", "1", False),
        ("IsString", "", True),
        ("IsBoolean", False, True),
        ("IsBoolean", None, False),
        ("IsTimestamp", "2016-03-14T01:59:00Z", True),
        ("IsTimestamp", "2016-03-14", False),
        ("IsTimestamp", "2016-13-14T01:59:00Z", False),
    ],
)
def test_type_tests(operator: str, value: Any, expected: bool) -> None:
    assert matches({"Variable": "$.v", operator: True}, {"v": value}) is expected
    assert matches({"Variable": "$.v", operator: False}, {"v": value}) is (not expected)


def test_is_present_tolerates_a_missing_path() -> None:
    # "IsPresent ... if the Variable-field Path fails to match anything in the input no exception is
    # thrown and the choice rule just returns false."
    assert matches({"Variable": "$.v", "IsPresent": False}, {})
    assert not matches({"Variable": "$.v", "IsPresent": True}, {})
    assert matches({"Variable": "$.v", "IsPresent": True}, {"v": None})  # recorded


def test_a_missing_variable_is_states_runtime() -> None:
    for rule in [{"Variable": "$.v", "StringEquals": "x"}, {"Variable": "$.a", "NumericEqualsPath": "$.v"}]:
        with pytest.raises(StatesError) as info:
            matches(rule, {"a": 1})
        assert info.value.error == "States.Runtime"
        assert info.value.cause == (
            "Invalid path '$.v': The choice state's condition path references an invalid value."
        )


def test_and_or_not_nest() -> None:
    rule = {
        "Or": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}},
            {
                "And": [
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30},
                ]
            },
        ]
    }
    assert matches(rule, {"type": "Public", "value": 0})
    assert matches(rule, {"type": "Private", "value": 25})
    assert not matches(rule, {"type": "Private", "value": 30})


def test_jsonata_condition() -> None:
    # Under JSONata a rule is {"Condition": "{% ... %}"} that must be a boolean.
    assert matches(
        {"Condition": "{% $states.input.value >= 20 and $states.input.value < 30 %}"},
        {"value": 25},
        "JSONata",
    )
    assert not matches({"Condition": "{% $not($states.input.done) %}"}, {"done": True}, "JSONata")
    assert matches(
        {"Condition": "{% $status = 'completed' %}"}, {}, "JSONata", variables={"status": "completed"}
    )
    assert matches({"Condition": True}, {}, "JSONata")
    with pytest.raises(StatesError) as info:
        matches({"Condition": "{% $states.input.n %}"}, {"n": 1}, "JSONata")
    assert info.value.error == "States.QueryEvaluationError"
    assert info.value.cause == (
        "The JSONata expression '$states.input.n' specified for the field 'Condition' returned an unexpected "
        "result type. Expected 'boolean', but was 'number' for value: 1"
    )
    with pytest.raises(StatesError, match="returned nothing"):
        matches({"Condition": "{% $states.input.missing %}"}, {}, "JSONata")


@pytest.mark.parametrize(
    ("rule", "language", "message", "pointer"),
    [
        ({"Variable": "$.v"}, "JSONPath", "A Choice Rule must have exactly one comparison operator", ""),
        (
            {"Variable": "$.v", "IsNull": True, "IsString": True},
            "JSONPath",
            "exactly one comparison operator",
            "",
        ),
        ({"StringEquals": "x"}, "JSONPath", "These fields are required: [Variable]", ""),
        ({"Variable": "$.v", "StringEqual": "x"}, "JSONPath", "Field 'StringEqual' is not supported", ""),
        (
            {"Variable": "$.v", "StringEquals": 1},
            "JSONPath",
            "Expected value of type: STRING",
            "/StringEquals",
        ),
        (
            {"Variable": "$.v", "NumericEquals": "1"},
            "JSONPath",
            "Expected value of type: NUMBER",
            "/NumericEquals",
        ),
        ({"Variable": "$.v", "IsNull": "yes"}, "JSONPath", "Expected value of type: BOOLEAN", "/IsNull"),
        (
            {"Variable": "$.v", "TimestampEquals": "2016-12-05T21:29:29"},
            "JSONPath",
            "RFC3339",
            "/TimestampEquals",
        ),
        ({"Variable": "nope", "IsNull": True}, "JSONPath", "Value is not a valid path", "/Variable"),
        ({"And": []}, "JSONPath", "non-empty ARRAY", "/And"),
        ({"And": [{"Variable": "$.v"}]}, "JSONPath", "exactly one comparison operator", "/And/0"),
        ({"Not": {"Variable": "$.v", "IsNull": True}, "Variable": "$.v"}, "JSONPath", "not supported", ""),
        ({"Condition": "{% true %}"}, "JSONPath", "not supported for the query language JSONPath", ""),
        ({"Variable": "$.v", "IsNull": True}, "JSONata", "not supported for the query language JSONata", ""),
        ({"Condition": "true"}, "JSONata", "JSONata expression or a boolean", "/Condition"),
        ({"Condition": "{% 1 + %}"}, "JSONata", "Invalid JSONata expression", "/Condition"),
    ],
)
def test_malformed_rules(rule: dict[str, Any], language: str, message: str, pointer: str) -> None:
    with pytest.raises(InvalidChoiceRule) as info:
        compile_choice_rule(rule, query_language=language)
    assert message in str(info.value)
    assert info.value.pointer == pointer


def test_parse_timestamp() -> None:
    # Recorded Wait validations reject a space for T, a missing zone, month 13 and hour 25.
    for bad in [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
    ]:
        assert parse_timestamp(bad) is None
    assert parse_timestamp("1970-01-01T00:00:01.5Z") == (1, 500_000_000)
    assert parse_timestamp("1970-01-01T01:00:00+01:00") == (0, 0)
