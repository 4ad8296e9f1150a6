"""StatesService request validation: AWS's error codes and messages, driven through the API methods
with a real Store and Logs (no engine needed: every case fails before an execution starts).

Messages follow the Step Functions API reference and AWS's answers: StateMachineDoesNotExist
"State Machine Does Not Exist: '<arn>'", InvalidArn "Invalid Arn: 'Resource type not valid in this
context: <type>'", ExecutionDoesNotExist "Execution Does Not Exist: '<arn>'", and the Coral
ValidationException "1 validation error detected: ..." for the API model's constraints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import (
    AwsError,
    ExecutionDoesNotExist,
    InvalidArn,
    InvalidDefinition,
    InvalidExecutionInput,
    InvalidLoggingConfiguration,
    InvalidName,
    StateMachineAlreadyExists,
    StateMachineDoesNotExist,
    StateMachineTypeNotSupported,
    ValidationException,
)
from asyncgate.local.logs import Logs
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

ROLE = "arn:aws:iam::000000000000:role/r"
SM = "arn:aws:states:us-east-1:000000000000:stateMachine:"
PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
GROUP = "arn:aws:logs:us-east-1:000000000000:log-group:/aws/vendedlogs/states/sample:*"


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[StatesService]:
    store = Store(tmp_path / "db.sqlite3")
    service = StatesService(store, Logs(store), None)
    yield service
    asyncio.run(service.close())
    store.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def fails(coro: Any, error: type[AwsError], message: str | None = None) -> AwsError:
    with pytest.raises(error) as info:
        run(coro)
    assert type(info.value) is error
    if message is not None:
        assert info.value.message == message
    return info.value


def create(svc: StatesService, name: str = "m", **extra: Any) -> str:
    request = {"name": name, "definition": PASS, "roleArn": ROLE, **extra}
    return str(run(svc.create_state_machine(request))["stateMachineArn"])


# -- CreateStateMachine ------------------------------------------------------------------------------
def test_create_returns_arn_and_is_idempotent_for_identical_config(svc: StatesService) -> None:
    first = run(svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE}))
    assert first["stateMachineArn"] == SM + "m"
    # AWS ignores roleArn and tags when deciding whether a create is idempotent
    again = run(svc.create_state_machine({"name": "m", "definition": PASS,
                                          "roleArn": "arn:aws:iam::000000000000:role/other"}))
    assert again == first


def test_create_with_another_definition_is_already_exists(svc: StatesService) -> None:
    create(svc)
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}})
    fails(svc.create_state_machine({"name": "m", "definition": other, "roleArn": ROLE}),
          StateMachineAlreadyExists, f"State Machine Already Exists: '{SM}m'")


@pytest.mark.parametrize("name", ["has space", "a/b", "star*", "q?", "semi;", "tab\there", "x:y", "{b}"])
def test_create_rejects_forbidden_name_characters(svc: StatesService, name: str) -> None:
    fails(svc.create_state_machine({"name": name, "definition": PASS, "roleArn": ROLE}),
          InvalidName, f"Invalid Name: '{name}'")


def test_create_name_longer_than_80_is_a_constraint_error(svc: StatesService) -> None:
    name = "n" * 81
    fails(svc.create_state_machine({"name": name, "definition": PASS, "roleArn": ROLE}),
          ValidationException,
          f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
          "Member must have length less than or equal to 80")


def test_create_rejects_bad_type_role_and_definition(svc: StatesService) -> None:
    fails(svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE, "type": "FAST"}),
          ValidationException,
          "1 validation error detected: Value 'FAST' at 'type' failed to satisfy constraint: "
          "Member must satisfy enum value set: [STANDARD, EXPRESS]")
    fails(svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": "nope"}),
          InvalidArn, "Invalid Role Arn: 'nope'")
    error = fails(svc.create_state_machine({"name": "m", "definition": "{", "roleArn": ROLE}),
                  InvalidDefinition)
    assert error.message.startswith("Invalid State Machine Definition: '")
    fails(svc.create_state_machine({"name": "m", "roleArn": ROLE}), ValidationException,
          "1 validation error detected: Value null at 'definition' failed to satisfy constraint: "
          "Member must not be null")


def test_logging_configuration_needs_exactly_one_destination(svc: StatesService) -> None:
    destination = {"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}
    for logging in ({"level": "ALL"}, {"level": "ERROR", "destinations": []},
                    {"level": "ALL", "destinations": [destination, destination]}):
        fails(svc.create_state_machine({"name": "m", "definition": PASS, "roleArn": ROLE,
                                        "loggingConfiguration": logging}),
              InvalidLoggingConfiguration,
              "Invalid Logging Configuration: Must specify exactly one Log Destination.")
    arn = create(svc, loggingConfiguration={
        "level": "ERROR", "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}]})
    described = run(svc.describe_state_machine({"stateMachineArn": arn}))
    assert described["loggingConfiguration"] == {
        "level": "ERROR", "includeExecutionData": True,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": GROUP}}]}


def test_describe_update_delete_list(svc: StatesService) -> None:
    arn = create(svc, type="EXPRESS")
    described = run(svc.describe_state_machine({"stateMachineArn": arn}))
    assert {k: described[k] for k in ("name", "status", "type", "definition", "roleArn")} == {
        "name": "m", "status": "ACTIVE", "type": "EXPRESS", "definition": PASS, "roleArn": ROLE}
    other = json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Succeed"}}})
    updated = run(svc.update_state_machine({"stateMachineArn": arn, "definition": other}))
    assert set(updated) == {"updateDate", "revisionId"}
    assert run(svc.describe_state_machine({"stateMachineArn": arn}))["definition"] == other
    create(svc, "a")
    names = [m["name"] for m in run(svc.list_state_machines({}))["stateMachines"]]
    assert names == ["a", "m"]
    page = run(svc.list_state_machines({"maxResults": 1}))
    assert [m["name"] for m in page["stateMachines"]] == ["a"]
    rest = run(svc.list_state_machines({"maxResults": 1, "nextToken": page["nextToken"]}))
    assert [m["name"] for m in rest["stateMachines"]] == ["m"] and "nextToken" not in rest
    assert run(svc.delete_state_machine({"stateMachineArn": arn})) == {}
    fails(svc.describe_state_machine({"stateMachineArn": arn}), StateMachineDoesNotExist,
          f"State Machine Does Not Exist: '{arn}'")


def test_machines_survive_a_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    arn = create(StatesService(store, Logs(store), None), type="EXPRESS")
    fresh = StatesService(store, Logs(store), None)
    assert run(fresh.describe_state_machine({"stateMachineArn": arn}))["type"] == "EXPRESS"
    store.close()


def test_validate_state_machine_definition(svc: StatesService) -> None:
    assert run(svc.validate_state_machine_definition({"definition": PASS})) == {
        "result": "OK", "diagnostics": [], "truncated": False}
    bad = run(svc.validate_state_machine_definition({"definition": '{"StartAt": "X", "States": {}}'}))
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["severity"] == "ERROR"
    assert bad["diagnostics"][0]["code"] == "MISSING_TRANSITION_TARGET"


# -- StartExecution / StartSyncExecution ---------------------------------------------------------------
def test_start_on_unknown_or_malformed_arn(svc: StatesService) -> None:
    fails(svc.start_execution({"stateMachineArn": SM + "nope"}), StateMachineDoesNotExist,
          f"State Machine Does Not Exist: '{SM}nope'")
    fails(svc.start_execution({"stateMachineArn": "not-an-arn"}), InvalidArn, "Invalid arn: 'not-an-arn'")
    execution = "arn:aws:states:us-east-1:000000000000:execution:m:e"
    fails(svc.start_execution({"stateMachineArn": execution}), InvalidArn,
          "Invalid Arn: 'Resource type not valid in this context: execution'")
    fails(svc.start_execution({}), ValidationException)


def test_start_rejects_input_that_is_not_json(svc: StatesService) -> None:
    arn = create(svc, type="EXPRESS")
    error = fails(svc.start_execution({"stateMachineArn": arn, "input": "{not json"}), InvalidExecutionInput)
    assert error.message.startswith("Invalid State Machine Execution Input: '")


def test_start_rejects_input_over_256_kib(svc: StatesService) -> None:
    """The seed's test: a payload over 256 KB must fail StartExecution with a 4xx error."""
    arn = create(svc, type="EXPRESS")
    big = json.dumps({"data": "x" * 262_144})
    error = fails(svc.start_execution({"stateMachineArn": arn, "input": big}), ValidationException,
                  "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                  "Member must have length less than or equal to 262144")
    assert error.http_status == 400
    # the limit is in UTF-8 bytes, not characters: 131,072 two-byte characters is 262,144 bytes + quotes
    wide = json.dumps("é" * 131_072, ensure_ascii=False)
    fails(svc.start_execution({"stateMachineArn": arn, "input": wide}), ValidationException)


def test_start_rejects_bad_execution_names(svc: StatesService) -> None:
    arn = create(svc)
    fails(svc.start_execution({"stateMachineArn": arn, "name": "a b"}), InvalidName, "Invalid Name: 'a b'")
    fails(svc.start_execution({"stateMachineArn": arn, "name": "x" * 81}), ValidationException)
    fails(svc.start_execution({"stateMachineArn": arn, "name": ""}), ValidationException)


def test_sync_start_needs_an_express_machine(svc: StatesService) -> None:
    arn = create(svc)
    fails(svc.start_sync_execution({"stateMachineArn": arn}), StateMachineTypeNotSupported,
          "This operation is not supported by this type of state machine")


def test_express_machines_have_no_queryable_executions(svc: StatesService) -> None:
    arn = create(svc, type="EXPRESS")
    fails(svc.list_executions({"stateMachineArn": arn}), StateMachineTypeNotSupported,
          "This operation is not supported by this type of state machine")
    express = "arn:aws:states:us-east-1:000000000000:express:m:e:0f3e5a8e-6f0b-4e0c-9a35-5a0a2b1f9c11"
    for call in (svc.describe_execution, svc.get_execution_history, svc.stop_execution,
                 svc.describe_state_machine_for_execution):
        fails(call({"executionArn": express}), InvalidArn,
              "Invalid Arn: 'Resource type not valid in this context: express'")


def test_unknown_standard_execution(svc: StatesService) -> None:
    arn = "arn:aws:states:us-east-1:000000000000:execution:m:nope"
    fails(svc.describe_execution({"executionArn": arn}), ExecutionDoesNotExist,
          f"Execution Does Not Exist: '{arn}'")
    fails(svc.get_execution_history({"executionArn": arn}), ExecutionDoesNotExist)
    fails(svc.describe_execution({"executionArn": SM + "m"}), InvalidArn,
          "Invalid Arn: 'Resource type not valid in this context: stateMachine'")


def test_list_executions_validates_status_filter(svc: StatesService) -> None:
    arn = create(svc)
    fails(svc.list_executions({"stateMachineArn": arn, "statusFilter": "DONE"}), ValidationException,
          "1 validation error detected: Value 'DONE' at 'statusFilter' failed to satisfy constraint: "
          "Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, "
          "PENDING_REDRIVE]")
    assert run(svc.list_executions({"stateMachineArn": arn})) == {"executions": []}


def test_deploy_is_create_or_update_and_keeps_an_unchanged_revision(svc: StatesService) -> None:
    request = {"name": "tpl", "definition": PASS, "roleArn": ROLE, "type": "EXPRESS"}
    arn = run(svc.deploy_state_machine(request))
    first = run(svc.describe_state_machine({"stateMachineArn": arn}))
    assert run(svc.deploy_state_machine(request)) == arn  # every start-up deploys again
    assert run(svc.describe_state_machine({"stateMachineArn": arn}))["revisionId"] == first["revisionId"]
    other_role = "arn:aws:iam::000000000000:role/other"
    run(svc.deploy_state_machine({**request, "roleArn": other_role}))
    updated = run(svc.describe_state_machine({"stateMachineArn": arn}))
    assert updated["roleArn"] == other_role and updated["revisionId"] != first["revisionId"]
    run(svc.deploy_state_machine({**request, "roleArn": other_role, "type": "STANDARD"}))
    assert run(svc.describe_state_machine({"stateMachineArn": arn}))["type"] == "STANDARD"
