"""Which Express machines the worker process may run: only those whose every Task, at any depth,
invokes a Lambda function named in the definition (``express_worker/eligible.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from asyncgate.local.express_worker.eligible import lambda_functions

FN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def task(resource: str, **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "End": True, **fields}


def machine(*states: dict[str, Any]) -> str:
    named = {f"S{i}": state for i, state in enumerate(states)}
    return json.dumps({"StartAt": "S0", "States": named})


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        (machine({"Type": "Pass", "End": True}), frozenset()),
        (machine(task(FN)), frozenset({"f"})),
        (machine(task(f"{FN}:$LATEST")), frozenset({"f"})),
        (machine(task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName": "g", "Payload.$": "$"})),
         frozenset({"g"})),
        (machine(task("arn:aws:states:::lambda:invoke", Arguments={"FunctionName": FN})), frozenset({"f"})),
        (machine({"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": {"A": task(FN)}},
            {"StartAt": "B", "States": {"B": task("arn:aws:states:::lambda:invoke",
                                                   Parameters={"FunctionName": "h"})}},
        ]}), frozenset({"f", "h"})),
        (machine({"Type": "Map", "End": True, "ItemProcessor": {"StartAt": "A", "States": {"A": task(FN)}}}),
         frozenset({"f"})),
    ],
    ids=["pass", "function-arn", "latest", "lambda-invoke", "jsonata-arguments", "parallel", "map"],
)
def test_lambda_only_machines_run_in_the_worker(definition: str, expected: frozenset[str]) -> None:
    assert lambda_functions(definition) == expected


@pytest.mark.parametrize(
    "definition",
    [
        machine(task("arn:aws:states:::sqs:sendMessage", Parameters={"QueueUrl": "q"})),
        machine(task("arn:aws:states:::aws-sdk:dynamodb:getItem", Parameters={})),
        machine(task("arn:aws:states:::states:startExecution", Parameters={})),
        machine(task("arn:aws:states:::lambda:invoke.waitForTaskToken", Parameters={"FunctionName": "f"})),
        machine(task("arn:aws:states:::lambda:invoke", Parameters={"FunctionName.$": "$.fn"})),
        machine(task("arn:aws:states:::lambda:invoke", Arguments={"FunctionName": "{% $states.input.fn %}"})),
        machine(task(f"{FN}:live")),  # an alias: the worker has $LATEST only
        machine(task("arn:aws:states:us-east-1:000000000000:activity:a")),
        machine({"Type": "Map", "End": True, "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
                 "ItemProcessor": {"StartAt": "A", "States": {"A": task(FN)}}}),
        machine({"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": {"A": task("arn:aws:states:::sns:publish", Parameters={})}}]}),
        "not json",
    ],
    ids=["sqs", "aws-sdk", "child-execution", "task-token", "dynamic-name", "jsonata-name", "alias",
         "activity", "distributed-map", "nested-sns", "malformed"],
)
def test_anything_else_stays_in_the_server(definition: str) -> None:
    assert lambda_functions(definition) is None
