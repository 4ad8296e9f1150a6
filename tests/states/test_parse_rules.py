"""The parser's checks, each citing the rule of the States Language spec (or the developer guide) it
enforces, and the model it builds.
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncgate.local.errors import InvalidDefinition
from asyncgate.local.states import model as m
from asyncgate.local.states.parse import parse_definition


def machine(**states: Any) -> dict[str, Any]:
    return {"StartAt": next(iter(states)), "States": states}


def message(definition: Any) -> str:
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(definition)
    return info.value.message


def test_builds_typed_states_with_compiled_paths() -> None:
    d = parse_definition(
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "InputPath": "$.in",
                "ResultPath": None,
                "OutputPath": "$.Payload",
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}],
                "Next": "P",
            },
            P={"Type": "Pass", "End": True},
        )
    )
    t = d.states["T"]
    assert isinstance(t, m.TaskState) and t.result_path_null and t.input_path.text == "$.in"
    assert (
        t.retry[0].max_attempts == 0 and t.retry[0].interval_seconds == 1.0 and t.retry[0].backoff_rate == 2.0
    )
    assert isinstance(d.states["P"], m.PassState) and d.states["P"].end


def test_definition_from_json_text() -> None:
    assert parse_definition('{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}').start_at == "A"


def test_next_must_name_a_state() -> None:
    # spec: "the value of Next MUST exactly and case-sensitively match the name of another state"
    msg = message(machine(A={"Type": "Pass", "Next": "Nope"}))
    assert (
        msg == "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: Nope at "
        "/States/A/Next'"
    )


def test_every_state_must_be_reachable() -> None:
    msg = message(machine(A={"Type": "Pass", "End": True}, B={"Type": "Pass", "End": True}))
    assert 'State "B" is not reachable. at /States/B' in msg


def test_states_all_must_be_alone_and_last() -> None:
    # spec: "States.ALL ... MUST appear alone in its ErrorEquals array and MUST appear in the last Retrier"
    retry = [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}]
    msg = message(
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Retry": retry,
                "End": True,
            }
        )
    )
    assert "at /States/T/Retry[0]/ErrorEquals" in msg
    alone = [{"ErrorEquals": ["States.ALL", "E"], "Next": "T"}]
    msg = message(
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Catch": alone,
                "End": True,
            }
        )
    )
    assert "States.ALL must appear alone" in msg


@pytest.mark.parametrize(
    "field, value",
    [
        ("BackoffRate", 0.5),
        ("MaxAttempts", -1),
        ("IntervalSeconds", 0),
        ("MaxDelaySeconds", 0),
        ("JitterStrategy", "HALF"),
    ],
)
def test_retrier_bounds(field: str, value: Any) -> None:
    retry = [{"ErrorEquals": ["E"], field: value}]
    msg = message(
        machine(
            T={
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Retry": retry,
                "End": True,
            }
        )
    )
    assert f"at /States/T/Retry[0]/{field}" in msg


def test_wait_needs_exactly_one_duration() -> None:
    msg = message(machine(W={"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}))
    assert "Exactly one of Seconds, Timestamp, SecondsPath, TimestampPath" in msg


def test_next_and_end_are_exclusive_and_one_is_required() -> None:
    assert "Only one of Next or End" in message(machine(A={"Type": "Pass", "Next": "A", "End": True}))
    assert "These fields are required" in message(machine(A={"Type": "Pass"}))


def test_result_path_must_be_a_reference_path() -> None:
    # spec: "The value of ResultPath MUST be a Reference Path"
    msg = message(machine(A={"Type": "Pass", "ResultPath": "$.a[*]", "End": True}))
    assert "Value is not a valid reference path at /States/A/ResultPath" in msg


def test_jsonpath_fields_are_refused_in_a_jsonata_state() -> None:
    msg = message(machine(A={"Type": "Pass", "QueryLanguage": "JSONata", "InputPath": "$.x", "End": True}))
    assert "The field 'InputPath' is not supported for the query language JSONata" in msg


def test_jsonpath_state_inside_jsonata_machine_is_refused() -> None:
    d = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}},
    }
    assert "JSONPath QueryLanguage cannot be used inside a JSONata scope" in message(d)


def test_jsonata_state_in_jsonpath_machine_compiles_templates() -> None:
    d = parse_definition(
        machine(A={"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 + 1 %}", "End": True})
    )
    assert d.states["A"].query_language is m.QueryLanguage.JSONATA and d.states["A"].output is not None


def test_several_problems_are_reported_together() -> None:
    msg = message(machine(A={"Type": "Pass", "Next": "X"}, B={"Type": "Bogus"}))
    assert msg.count("at /States/") >= 2 and msg.startswith("Invalid State Machine Definition: '")


def test_payload_field_error_points_into_the_template() -> None:
    msg = message(machine(A={"Type": "Pass", "Parameters": {"a": {"b.$": "nope"}}, "End": True}))
    assert msg == (
        "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: The value for the field 'b.$' must be "
        "a valid JSONPath or a valid intrinsic function call at /States/A/Parameters/a'"
    )


def test_unknown_fields_are_refused() -> None:
    assert "Field 'Resul' is not supported at /States/A" in message(
        machine(A={"Type": "Pass", "Resul": 1, "End": True})
    )


def test_choice_rule_errors_and_targets() -> None:
    bad = {"Type": "Choice", "Choices": [{"Variable": "$.x", "Next": "B"}], "Default": "B"}
    assert "at /States/C/Choices[0]" in message(machine(C=bad, B={"Type": "Succeed"}))
    missing = {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": True, "Next": "Z"}]}
    assert "Missing 'Next' target: Z at /States/C/Choices[0]/Next" in message(machine(C=missing))


def test_map_and_parallel_children_are_parsed_with_their_pointers() -> None:
    d = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Gone"}}},
                "End": True,
            }
        },
    }
    assert "Missing 'Next' target: Gone at /States/M/ItemProcessor/States/I/Next" in message(d)
    ok = parse_definition(
        {
            "StartAt": "M",
            "States": {
                "M": {
                    "Type": "Map",
                    "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": True}}},
                    "MaxConcurrency": 3,
                    "End": True,
                }
            },
        }
    )
    assert isinstance(ok.states["M"], m.MapState) and ok.states["M"].max_concurrency == 3


def test_machine_timeout_and_query_language() -> None:
    d = parse_definition(
        {
            "QueryLanguage": "JSONata",
            "TimeoutSeconds": 30,
            "StartAt": "A",
            "States": {"A": {"Type": "Succeed"}},
        }
    )
    assert d.timeout_seconds == 30 and d.query_language is m.QueryLanguage.JSONATA
