"""``asyncgate up --time-scale 100``: Waits, Retry back-offs, TimeoutSeconds (task and machine) and
HeartbeatSeconds all run on the scaled clock, and the history's timestamps are that clock's — a
60-second Wait reads as 60 seconds in GetExecutionHistory while it takes a fraction of one.

One live server for the module, driven with boto3.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import LiveServer, StartServer
from tests.durability.test_restarts import HANDLER, ROLE, create, finished, history, zipped

SCALE = "100"


@pytest.fixture(scope="module")
def scaled(start_server: StartServer) -> LiveServer:
    server = start_server("--time-scale", SCALE)
    server.client("lambda").create_function(
        FunctionName="scaled-sleeper",
        Runtime="python3.11",
        Role=ROLE,
        Handler="index.handler",
        Code={"ZipFile": zipped(HANDLER)},
        Timeout=30,
    )
    return server


def run(server: LiveServer, name: str, states: dict[str, Any], start: str, **top: Any) -> Any:
    sfn = server.client("stepfunctions")
    definition = json.dumps({"StartAt": start, "States": states, **top})
    machine = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input='{"n": 1}')["executionArn"]
    described = finished(server, arn)
    events = history(server, arn)
    stamps = [e["timestamp"].timestamp() for e in events]
    assert stamps == sorted(stamps)  # one clock for every event
    return described, events


def at(events: list[dict[str, Any]], event_type: str, nth: int = 0) -> float:
    return [e for e in events if e["type"] == event_type][nth]["timestamp"].timestamp()


def test_a_wait_reads_as_its_full_length_in_history(scaled: LiveServer) -> None:
    described, events = run(
        scaled, "scaled-wait", {"Hold": {"Type": "Wait", "Seconds": 60, "End": True}}, "Hold"
    )
    assert described["status"] == "SUCCEEDED"
    assert at(events, "WaitStateExited") - at(events, "WaitStateEntered") >= 60
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= 60


def test_retry_back_off_is_scaled(scaled: LiveServer) -> None:
    described, events = run(
        scaled,
        "scaled-retry",
        {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:000000000000:function:no-such-function",
                "Retry": [
                    {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 2, "BackoffRate": 2}
                ],
                "End": True,
            }
        },
        "Call",
    )
    assert (described["status"], described["error"]) == ("FAILED", "Lambda.ResourceNotFoundException")
    assert at(events, "LambdaFunctionScheduled", 1) - at(events, "LambdaFunctionFailed", 0) >= 30
    assert at(events, "LambdaFunctionScheduled", 2) - at(events, "LambdaFunctionFailed", 1) >= 60


def test_task_timeout_is_scaled(scaled: LiveServer) -> None:
    described, events = run(
        scaled,
        "scaled-timeout",
        {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "TimeoutSeconds": 60,
                "Parameters": {"FunctionName": "scaled-sleeper", "Payload": {"n": 1, "sleep": 5}},
                "End": True,
            }
        },
        "Call",
    )
    assert (described["status"], described["error"]) == ("FAILED", "States.Timeout")
    assert at(events, "TaskTimedOut") - at(events, "TaskStarted") >= 60


def test_machine_timeout_is_scaled(scaled: LiveServer) -> None:
    described, _ = run(
        scaled,
        "scaled-machine-timeout",
        {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}},
        "Hold",
        TimeoutSeconds=120,
    )
    assert (described["status"], described["error"]) == ("TIMED_OUT", "States.Timeout")
    assert (described["stopDate"] - described["startDate"]).total_seconds() >= 120


def test_heartbeat_is_scaled(scaled: LiveServer) -> None:
    worker = create(scaled, "scaled-worker", {"Work": {"Type": "Pass", "End": True}}, "Work")
    described, events = run(
        scaled,
        "scaled-heartbeat",
        {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
                "HeartbeatSeconds": 60,
                "Parameters": {"StateMachineArn": worker, "Input": {"token.$": "$$.Task.Token"}},
                "End": True,
            }
        },
        "Ask",
    )
    assert (described["status"], described["error"]) == ("FAILED", "States.HeartbeatTimeout")
    assert at(events, "TaskTimedOut") - at(events, "TaskSubmitted") >= 60
