"""TestState through the service (``test_state.py``): one state, once, with mocks; statuses
SUCCEEDED / FAILED / RETRIABLE / CAUGHT_ERROR as the TestState API reference describes them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from asyncgate.local.errors import InvalidDefinition, ValidationException
from asyncgate.local.logs import Logs
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store
from tests.conftest import LiveServer

TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "f", "Payload.$": "$"}, "ResultSelector": {"r.$": "$.v"},
        "Next": "After"}


def call_test_state(tmp_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    store = Store(tmp_path / "db.sqlite3", synchronous="OFF")

    async def main() -> dict[str, Any]:
        svc = StatesService(store, Logs(store), None)
        try:
            return await svc.test_state(request)
        finally:
            await svc.close()

    try:
        return asyncio.run(main())
    finally:
        store.close()


def test_mocked_task_succeeds_with_next_state(tmp_path: Path) -> None:
    out = call_test_state(tmp_path, {"definition": json.dumps(TASK), "input": '{"a": 1}',
                                "mock": {"result": '{"v": 42}'}})
    assert out == {"status": "SUCCEEDED", "output": '{"r":42}', "nextState": "After"}


def test_retriable_and_caught_errors(tmp_path: Path) -> None:
    retried = {**TASK, "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2}]}
    out = call_test_state(tmp_path / "r", {"definition": json.dumps(retried),
                                      "mock": {"errorOutput": {"error": "Boom", "cause": "why"}}})
    assert out == {"status": "RETRIABLE", "error": "Boom", "cause": "why"}
    caught = {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]}
    out = call_test_state(tmp_path / "c", {"definition": json.dumps(caught), "input": "{}",
                                      "mock": {"errorOutput": {"error": "Boom", "cause": "why"}}})
    assert (out["status"], out["nextState"], out["error"], out["cause"]) == ("CAUGHT_ERROR", "Handler",
                                                                            "Boom", "why")
    assert json.loads(out["output"]) == {"Error": "Boom", "Cause": "why"}


def test_state_name_in_a_machine_and_inspection_data(tmp_path: Path) -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
                                           "B": {"Type": "Fail", "Error": "E", "Cause": "C"}}}
    out = call_test_state(tmp_path, {"definition": json.dumps(machine), "stateName": "B",
                                "inspectionLevel": "DEBUG", "input": '{"x": 1}'})
    assert (out["status"], out["error"], out["cause"]) == ("FAILED", "E", "C")
    assert out["inspectionData"]["input"] == '{"x":1}'  # plus the steps the engine notes


def test_bad_requests(tmp_path: Path) -> None:
    with pytest.raises(InvalidDefinition):
        call_test_state(tmp_path / "a", {"definition": "{"})
    with pytest.raises(ValidationException):
        call_test_state(tmp_path / "b", {"definition": json.dumps({"Type": "Pass", "End": True}),
                                    "inspectionLevel": "LOUD"})


def test_state_run_docstring_examples() -> None:
    import doctest

    from asyncgate.local.states import test_state_run

    assert doctest.testmod(test_state_run).failed == 0


INLINE_MAP = {"Type": "Map", "ItemsPath": "$.items", "ToleratedFailurePercentage": 50,
              "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
              "Catch": [{"ErrorEquals": ["Boom"], "Next": "Other"},
                        {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "ResultPath": "$.err",
                         "Next": "Over"}],
              "End": True}


def test_mocked_inline_map_failure_percentage_is_caught(tmp_path: Path) -> None:
    """2 failed of 3 items is over 50 %: the threshold error, caught by the second Catcher."""
    request = {"definition": json.dumps(INLINE_MAP), "input": '{"items": [1, 2, 3]}',
               "inspectionLevel": "TRACE", "mock": {"result": "[1, 0, 0]"},
               "stateConfiguration": {"mapIterationFailureCount": 2}}
    out = call_test_state(tmp_path / "over", request)
    assert (out["status"], out["nextState"], out["error"]) == (
        "CAUGHT_ERROR", "Over", "States.ExceedToleratedFailureThreshold")
    assert json.loads(out["output"])["err"] == {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": "The specified tolerated failure threshold was exceeded"}
    inspection = out["inspectionData"]
    assert inspection["errorDetails"] == {"catchIndex": 1}
    assert inspection["afterItemsPath"] == "[1, 2, 3]"
    assert (inspection["maxConcurrency"], inspection["toleratedFailurePercentage"]) == (0, 50.0)
    assert "result" not in inspection  # the iterations did not run
    request["stateConfiguration"] = {"mapIterationFailureCount": 1}  # 1 of 3 is within 50 %
    out = call_test_state(tmp_path / "within", request)
    assert (out["status"], json.loads(out["output"])) == ("SUCCEEDED", [1, 0, 0])


def test_mocked_map_items_must_be_an_array(tmp_path: Path) -> None:
    out = call_test_state(tmp_path, {"definition": json.dumps(INLINE_MAP), "input": '{"items": 7}',
                                     "mock": {"result": "[]"}})
    assert out == {"status": "FAILED", "error": "States.Runtime",
                   "cause": 'Reference path "$.items" must point to array.'}


def test_retrier_retry_count_continues_the_back_off_then_catch_takes_over(tmp_path: Path) -> None:
    state = {**TASK, "Retry": [{"ErrorEquals": ["Other"], "MaxAttempts": 1},
                               {"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "BackoffRate": 1.5,
                                "MaxAttempts": 3}],
             "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handler"}]}
    request = {"definition": json.dumps(state), "inspectionLevel": "DEBUG",
               "mock": {"errorOutput": {"error": "Boom", "cause": "why"}},
               "stateConfiguration": {"retrierRetryCount": 2}}
    out = call_test_state(tmp_path / "retry", request)
    assert out["status"] == "RETRIABLE"
    assert out["inspectionData"]["errorDetails"] == {"retryIndex": 1, "retryBackoffIntervalSeconds": 6.75}
    request["stateConfiguration"] = {"retrierRetryCount": 3}
    out = call_test_state(tmp_path / "caught", request)
    assert (out["status"], out["nextState"], out["inspectionData"]["errorDetails"]) == (
        "CAUGHT_ERROR", "Handler", {"catchIndex": 0})


def test_state_name_deep_in_map_processors_with_the_machines_query_language(tmp_path: Path) -> None:
    inner = {"Type": "Map", "ItemProcessor": {"StartAt": "Deep", "States": {
        "Deep": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "Next": "Later"},
        "Later": {"Type": "Succeed"}}}, "End": True}
    machine = {"QueryLanguage": "JSONata", "StartAt": "Outer", "States": {
        "Outer": {"Type": "Map", "ItemProcessor": {"StartAt": "Inner", "States": {"Inner": inner}},
                  "End": True}}}
    out = call_test_state(tmp_path, {"definition": json.dumps(machine), "stateName": "Deep",
                                     "input": '{"n": 21}'})
    assert out == {"status": "SUCCEEDED", "output": "42", "nextState": "Later"}
    with pytest.raises(ValidationException):
        call_test_state(tmp_path / "missing", {"definition": json.dumps(machine), "stateName": "Nowhere"})


def test_context_names_the_state_and_shows_the_role_or_null(tmp_path: Path) -> None:
    machine = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True}}}
    request: dict[str, Any] = {"definition": json.dumps(machine), "stateName": "A"}
    context = json.loads(call_test_state(tmp_path / "no-role", request)["output"])["c"]
    assert (context["State"]["Name"], context["Execution"]["RoleArn"]) == ("StateName", None)
    role = "arn:aws:iam::000000000000:role/tester"
    context = json.loads(call_test_state(tmp_path / "role", {**request, "roleArn": role})["output"])["c"]
    assert context["Execution"]["RoleArn"] == role


def test_state_configuration_bad_values_get_aws_errors(tmp_path: Path) -> None:
    from asyncgate.local.errors import SerializationException

    state = json.dumps({**TASK, "Retry": [{"ErrorEquals": ["Boom"]}]})
    mock = {"errorOutput": {"error": "Boom"}}
    message = ("Value '-1' at 'stateConfiguration.retrierRetryCount' failed to satisfy constraint: "
               "Member must have value greater than or equal to 0")
    with pytest.raises(ValidationException, match=re.escape(message)):
        call_test_state(tmp_path / "a", {"definition": state, "mock": mock,
                                         "stateConfiguration": {"retrierRetryCount": -1}})
    with pytest.raises(SerializationException, match="STRING_VALUE can not be converted to an Integer"):
        call_test_state(tmp_path / "b", {"definition": state, "mock": mock,
                                         "stateConfiguration": {"mapIterationFailureCount": "2"}})
    with pytest.raises(ValidationException, match="errorCausedByState"):
        call_test_state(tmp_path / "c", {"definition": state, "mock": mock,
                                         "stateConfiguration": {"errorCausedByState": "x" * 81}})
    with pytest.raises(ValidationException, match="mapItemReaderData"):
        call_test_state(tmp_path / "d", {"definition": json.dumps(INLINE_MAP), "mock": {"result": "[]"},
                                         "stateConfiguration": {"mapItemReaderData": "[1,"}})


@pytest.mark.parametrize(("request_", "error", "message"), [
    ({"definition": json.dumps(INLINE_MAP)}, InvalidDefinition,
     "TestState API does not support Map or Parallel states. Supported state types include: "
     "[Task, Wait, Pass, Succeed, Fail, Choice]"),
    ({"definition": json.dumps(TASK)}, ValidationException,
     "RoleArn must be specified when testing a Task state"),
    ({"definition": json.dumps({"Type": "Pass", "End": True}), "mock": {"result": "{}"}}, ValidationException,
     "State type 'Pass' is not supported when a mock is specified"),
    ({"definition": json.dumps(TASK), "mock": {"result": "{}"}, "revealSecrets": True}, ValidationException,
     "TestState does not support RevealSecrets when a mock is specified."),
    ({"definition": json.dumps(TASK), "mock": {"result": "{}", "errorOutput": {"error": "E"}}},
     ValidationException, "A test mock should have only one of the following fields: [result, errorOutput]."),
    ({"definition": json.dumps(TASK), "mock": {"result": "{"}}, ValidationException,
     "Mocked result must be valid JSON"),
    ({"definition": json.dumps(INLINE_MAP), "mock": {"result": "{}"}}, ValidationException,
     "Mocked result must be an array."),
    ({"definition": json.dumps({**INLINE_MAP, "ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}}),
      "mock": {"result": "[]"}}, ValidationException, "Mocked result must be a JSON object."),
], ids=["map-without-mock", "task-without-role", "pass-with-mock", "reveal-secrets", "two-outcomes",
        "result-not-json", "map-result-not-array", "map-result-writer-not-object"])
def test_mock_rules_answer_aws_messages(tmp_path: Path, request_: dict[str, Any], error: type,
                                        message: str) -> None:
    with pytest.raises(error) as raised:
        call_test_state(tmp_path, request_)
    assert raised.value.message == message


def test_over_the_wire_with_boto3(server: LiveServer) -> None:
    """The live server: a mocked Map with stateConfiguration, and a refused mock in AWS's error shape."""
    sfn = server.client("stepfunctions")
    out = sfn.test_state(definition=json.dumps(INLINE_MAP), input='{"items": [1, 2]}',
                         inspectionLevel="DEBUG", mock={"result": "[1, 0]"},
                         stateConfiguration={"mapIterationFailureCount": 2})
    assert (out["status"], out["nextState"], out["error"]) == (
        "CAUGHT_ERROR", "Over", "States.ExceedToleratedFailureThreshold")
    assert out["inspectionData"]["errorDetails"] == {"catchIndex": 1}
    with pytest.raises(ClientError) as raised:
        sfn.test_state(definition=json.dumps({"Type": "Succeed"}), mock={"result": "{}"})
    message = "State type 'Succeed' is not supported when a mock is specified"
    assert raised.value.response["Error"] == {"Code": "ValidationException", "Message": message}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
