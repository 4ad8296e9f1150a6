"""TestState through the service (``test_state.py``): one state, once, with mocks; statuses
SUCCEEDED / FAILED / RETRIABLE / CAUGHT_ERROR as the TestState API reference describes them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import InvalidDefinition, ValidationException
from asyncgate.local.logs import Logs
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

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
