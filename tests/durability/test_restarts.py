"""Standard executions survive ``kill -9`` and SIGTERM of ``asyncgate up``: after a restart on the
same ``--data-dir`` each one resumes where it stood and ends with the right output, and its history
holds every event once (ids 1..n with no gaps or repeats; the interrupted state entered once).

Driven as a user would: boto3 against live servers (``tests/conftest.py``), SIGKILL / SIGTERM to the
process, ``asyncgate up`` again on the same data directory.
"""

from __future__ import annotations

import io
import json
import signal
import time
import zipfile
from collections import Counter
from typing import Any

from tests.conftest import LiveServer, StartServer

ROLE = "arn:aws:iam::000000000000:role/durable"


def create(server: LiveServer, name: str, states: dict[str, Any], start: str) -> str:
    sfn = server.client("stepfunctions")
    definition = json.dumps({"StartAt": start, "States": states})
    return str(sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"])


def history(server: LiveServer, arn: str) -> list[dict[str, Any]]:
    sfn = server.client("stepfunctions")
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def wait_for(server: LiveServer, arn: str, event_type: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in history(server, arn):
            if event["type"] == event_type:
                return event
        time.sleep(0.05)
    raise AssertionError(f"no {event_type} in {[e['type'] for e in history(server, arn)]}")


def finished(server: LiveServer, arn: str, timeout: float = 60) -> dict[str, Any]:
    sfn = server.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running: {[e['type'] for e in history(server, arn)]}")


def assert_each_event_once(events: list[dict[str, Any]]) -> Counter[str]:
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert [e["previousEventId"] for e in events[1:]] == list(range(1, len(events)))
    types = Counter(e["type"] for e in events)
    assert types["ExecutionStarted"] == 1
    assert sum(n for t, n in types.items() if t.startswith("Execution") and t != "ExecutionStarted") == 1
    assert not [t for t in types if t.endswith("Aborted")], types
    return types


def test_a_wait_keeps_its_deadline_across_kill_9(start_server: StartServer) -> None:
    server = start_server()
    machine = create(server, "durable-wait", {
        "Before": {"Type": "Pass", "Result": "before", "ResultPath": "$.before", "Next": "Hold"},
        "Hold": {"Type": "Wait", "Seconds": 6, "Next": "After"},
        "After": {"Type": "Pass", "Result": "after", "ResultPath": "$.after", "End": True},
    }, "Before")
    sfn = server.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input='{"k": 1}')["executionArn"]
    entered = wait_for(server, arn, "WaitStateEntered")
    time.sleep(1.0)
    server.stop(signal.SIGKILL)

    restarted_at = time.time()
    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"k": 1, "before": "before", "after": "after"}
    events = history(again, arn)
    types = assert_each_event_once(events)
    assert types["WaitStateEntered"] == types["WaitStateExited"] == 1
    exited = next(e for e in events if e["type"] == "WaitStateExited")
    waited_from = entered["timestamp"].timestamp()
    # the deadline is the recorded entry + 6 s: not earlier, and not 6 s from the restart
    assert exited["timestamp"].timestamp() >= waited_from + 6
    assert exited["timestamp"].timestamp() < restarted_at + 6


HANDLER = """
import time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"doubled": event["n"] * 2}
"""


def zipped(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


def test_a_lambda_task_in_flight_runs_again_after_kill_9(start_server: StartServer) -> None:
    server = start_server()
    server.client("lambda").create_function(
        FunctionName="durable-double", Runtime="python3.11", Role=ROLE, Handler="index.handler",
        Code={"ZipFile": zipped(HANDLER)}, Timeout=30,
    )
    machine = create(server, "durable-task", {
        "Double": {"Type": "Task", "ResultPath": "$.result", "End": True,
                   "Resource": "arn:aws:lambda:us-east-1:000000000000:function:durable-double"},
    }, "Double")
    sfn = server.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine, input='{"n": 21, "sleep": 2}')["executionArn"]
    wait_for(server, arn, "LambdaFunctionStarted")
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["result"] == {"doubled": 42}
    types = assert_each_event_once(history(again, arn))
    assert types["TaskStateEntered"] == types["TaskStateExited"] == types["LambdaFunctionSucceeded"] == 1


def test_a_map_resumes_to_the_right_output_after_kill_9(start_server: StartServer) -> None:
    server = start_server()
    machine = create(server, "durable-map", {
        "Each": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "Next": "Done",
            "ItemProcessor": {"StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Square"},
                "Square": {"Type": "Pass", "Parameters": {"sq.$": "States.MathAdd($, $)"}, "End": True},
            }},
        },
        "Done": {"Type": "Pass", "End": True},
    }, "Each")
    arn = server.client("stepfunctions").start_execution(
        stateMachineArn=machine, input='{"items": [1, 2, 3]}')["executionArn"]
    wait_for(server, arn, "MapIterationSucceeded")  # one item done, two to go
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"sq": 2}, {"sq": 4}, {"sq": 6}]
    types = assert_each_event_once(history(again, arn))
    assert types["MapStateEntered"] == types["MapStateExited"] == types["MapStateSucceeded"] == 1
    # the iterations finished before the kill are reused from their checkpoints, not run again
    assert types["MapStateStarted"] == 1
    assert types["MapIterationStarted"] == types["MapIterationSucceeded"] == 3


def test_a_map_keeps_its_finished_iterations_across_kill_9(start_server: StartServer) -> None:
    server = start_server()
    machine = create(server, "durable-map-progress", {
        "Each": {
            "Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ResultPath": "$.out", "End": True,
            "ItemProcessor": {"StartAt": "Pause", "States": {
                "Pause": {"Type": "Wait", "Seconds": 2, "Next": "Double"},
                "Double": {"Type": "Pass", "Parameters": {"d.$": "States.MathAdd($, $)"}, "End": True},
            }},
        },
    }, "Each")
    arn = server.client("stepfunctions").start_execution(
        stateMachineArn=machine, input='{"items": [1, 2, 3, 4, 5, 6]}')["executionArn"]
    deadline = time.monotonic() + 30
    while sum(e["type"] == "MapIterationSucceeded" for e in history(server, arn)) < 2:
        assert time.monotonic() < deadline, [e["type"] for e in history(server, arn)]
        time.sleep(0.05)
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["out"] == [{"d": 2 * n} for n in range(1, 7)]
    events = history(again, arn)
    types = assert_each_event_once(events)  # ids 1..n, one terminal event, nothing aborted
    iteration_events = Counter(
        (e["type"], e["mapIterationStartedEventDetails" if e["type"] == "MapIterationStarted"
                      else "mapIterationSucceededEventDetails"]["index"])
        for e in events if e["type"] in ("MapIterationStarted", "MapIterationSucceeded")
    )
    assert sorted(iteration_events) == sorted(
        (t, i) for t in ("MapIterationStarted", "MapIterationSucceeded") for i in range(6)
    )
    assert set(iteration_events.values()) == {1}, iteration_events
    assert types["MapStateEntered"] == types["MapStateStarted"] == types["MapStateSucceeded"] == 1
    assert types["MapStateExited"] == 1
    # finished iterations were not run again: at most the two in flight at the kill re-entered their Wait
    assert 6 <= types["WaitStateEntered"] <= 8
    assert types["WaitStateExited"] <= 8 and types["PassStateExited"] <= 8


def _details(event: dict[str, Any]) -> dict[str, Any]:
    return next((v for k, v in event.items() if k.endswith("EventDetails")), None) or {}


def _event_key(event: dict[str, Any]) -> tuple[str, Any]:
    """An event's type and the state (or Map iteration) it is about, if it names one."""
    details = _details(event)
    return event["type"], details.get("name", details.get("index"))


def test_a_parallel_keeps_its_finished_branch_across_kill_9(start_server: StartServer) -> None:
    server = start_server("--time-scale", "10")
    server.client("lambda").create_function(
        FunctionName="durable-branch-double", Runtime="python3.11", Role=ROLE, Handler="index.handler",
        Code={"ZipFile": zipped(HANDLER)}, Timeout=30,
    )
    double = "arn:aws:lambda:us-east-1:000000000000:function:durable-branch-double"
    machine = create(server, "durable-parallel", {
        "Both": {"Type": "Parallel", "ResultPath": "$.both", "Next": "Done", "Branches": [
            {"StartAt": "Quick", "States": {
                "Quick": {"Type": "Pass", "Parameters": {"n.$": "$.n"}, "Next": "Double"},
                "Double": {"Type": "Task", "Resource": double, "ResultPath": "$.result", "Next": "Shape"},
                "Shape": {"Type": "Pass", "Parameters": {"quick.$": "$.result.doubled"}, "End": True},
            }},
            {"StartAt": "Before", "States": {
                "Before": {"Type": "Pass", "Parameters": {"slow.$": "$.n"}, "Next": "Hold"},
                "Hold": {"Type": "Wait", "Seconds": 40, "Next": "After"},  # 4 s at --time-scale 10
                "After": {"Type": "Pass", "Parameters": {"slow.$": "States.MathAdd($.slow, 1)"}, "End": True},
            }},
        ]},
        "Done": {"Type": "Pass", "End": True},
    }, "Both")
    arn = server.client("stepfunctions").start_execution(
        stateMachineArn=machine, input='{"n": 21}')["executionArn"]
    wait_for(server, arn, "WaitStateEntered")
    deadline = time.monotonic() + 30
    while not any(_event_key(e) == ("PassStateExited", "Shape") for e in history(server, arn)):
        assert time.monotonic() < deadline, [e["type"] for e in history(server, arn)]
        time.sleep(0.05)
    before = history(server, arn)
    assert not any(_event_key(e) == ("WaitStateExited", "Hold") for e in before), "killed too late"
    server.stop(signal.SIGKILL)

    again = start_server("--time-scale", "10", data_dir=server.data_dir)
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"n": 21, "both": [{"quick": 42}, {"slow": 22}]}
    events = history(again, arn)
    types = assert_each_event_once(events)  # ids 1..n, one terminal event, nothing aborted
    keys = Counter(_event_key(e) for e in events)
    assert set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
    # the finished branch was not run again: its Lambda was invoked once, before the kill
    assert types["LambdaFunctionScheduled"] == types["LambdaFunctionSucceeded"] == 1
    assert types["ParallelStateStarted"] == types["ParallelStateSucceeded"] == 1
    assert [_event_key(e) for e in events[: len(before)]] == [_event_key(e) for e in before]


def test_sigterm_during_a_wait_then_restart_completes(start_server: StartServer) -> None:
    server = start_server()
    machine = create(server, "durable-term", {
        "Hold": {"Type": "Wait", "Seconds": 2, "Next": "After"},
        "After": {"Type": "Pass", "Result": "done", "End": True},
    }, "Hold")
    arn = server.client("stepfunctions").start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(server, arn, "WaitStateEntered")
    # uvicorn shuts down gracefully, then re-raises the signal: -15, not the fixture's -9 after 30 s
    assert server.stop(signal.SIGTERM) == -signal.SIGTERM

    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '"done"')
    types = assert_each_event_once(history(again, arn))
    assert types["WaitStateEntered"] == 1


def test_a_retry_back_off_keeps_its_deadline_and_its_count_across_kill_9(start_server: StartServer) -> None:
    server = start_server()
    no = {"No": {"Type": "Fail", "Error": "Nope", "Cause": "never"}}
    failing = create(server, "durable-failing", no, "No")
    machine = create(server, "durable-retry", {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn": failing},
        "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 4, "MaxAttempts": 2,
                   "BackoffRate": 1}],
        "End": True,
    }}, "Call")
    arn = server.client("stepfunctions").start_execution(stateMachineArn=machine)["executionArn"]
    failed = wait_for(server, arn, "TaskFailed")  # the first attempt failed: its 4 s back-off is running
    server.stop(signal.SIGKILL)

    restarted_at = time.time()
    again = start_server(data_dir=server.data_dir)
    described = finished(again, arn)
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    events = history(again, arn)
    types = assert_each_event_once(events)
    assert types["TaskScheduled"] == types["TaskFailed"] == 3  # MaxAttempts 2: three attempts, not four
    second = [e for e in events if e["type"] == "TaskScheduled"][1]["timestamp"].timestamp()
    assert second >= failed["timestamp"].timestamp() + 4  # the back-off was served in full ...
    assert second < restarted_at + 4  # ... from the recorded failure, not again from the restart


def test_a_task_token_from_before_kill_9_is_accepted_after_the_restart(start_server: StartServer) -> None:
    server = start_server()
    worker = create(server, "durable-worker", {"Work": {"Type": "Pass", "End": True}}, "Work")
    machine = create(server, "durable-callback", {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
        "Parameters": {"StateMachineArn": worker, "Input": {"token.$": "$$.Task.Token"}}, "End": True,
    }}, "Ask")
    sfn = server.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    wait_for(server, arn, "TaskSubmitted")
    child = sfn.list_executions(stateMachineArn=worker)["executions"][0]["executionArn"]
    token = json.loads(sfn.describe_execution(executionArn=child)["input"])["token"]
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    again.client("stepfunctions").send_task_success(taskToken=token, output='{"approved": true}')
    described = finished(again, arn)
    assert (described["status"], described["output"]) == ("SUCCEEDED", '{"approved":true}')
    types = assert_each_event_once(history(again, arn))
    assert types["TaskStateEntered"] == types["TaskSucceeded"] == 1


def _asks(worker: str, tag: str, value: str) -> dict[str, Any]:
    """A ``.waitForTaskToken`` Task that starts ``worker`` with its token and ``{tag: value}``."""
    return {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.waitForTaskToken",
            "Parameters": {"StateMachineArn": worker,
                           "Input": {"token.$": "$$.Task.Token", f"{tag}.$": value}},
            "End": True}


def _handed_out(server: LiveServer, worker: str, tag: str) -> dict[str, str]:
    """tag value -> the task token each of ``worker``'s executions was started with."""
    sfn = server.client("stepfunctions")
    out: dict[str, str] = {}
    for child in sfn.list_executions(stateMachineArn=worker)["executions"]:
        given = json.loads(sfn.describe_execution(executionArn=child["executionArn"])["input"])
        assert out.setdefault(given[tag], given["token"]) == given["token"]
    return out


def _waiting(server: LiveServer, arn: str, tasks: int) -> None:
    deadline = time.monotonic() + 30
    while sum(e["type"] == "TaskSubmitted" for e in history(server, arn)) < tasks:
        assert time.monotonic() < deadline, [e["type"] for e in history(server, arn)]
        time.sleep(0.05)


def _assert_answered_once(events: list[dict[str, Any]], tasks: int, per_state: int = 1) -> None:
    """Each event once (a state inside a Map once per iteration: ``per_state``), bar the work of the
    ``tasks`` Tasks in flight at the kill, which ran again (at-least-once for the state in flight: a
    second worker got the same token) — never their Entered or Exited."""
    types = assert_each_event_once(events)
    named = [e for e in events if _event_key(e)[1] is not None]
    keys = Counter((*_event_key(e), _details(e).get("index")) for e in named)  # a Map iteration's index too
    assert all(n == (1 if k[2] is not None or k[1] in ("Both", "Each") else per_state)
               for k, n in keys.items()), keys
    assert types["TaskStateEntered"] == types["TaskStateExited"] == types["TaskSucceeded"] == tasks
    for work in ("TaskScheduled", "TaskStarted", "TaskSubmitted"):
        assert tasks <= types[work] <= 2 * tasks, types
    assert not [t for t in types if t.endswith(("Failed", "TimedOut"))], types


def test_task_tokens_of_waiting_parallel_branches_outlive_kill_9(start_server: StartServer) -> None:
    server = start_server()
    worker = create(server, "durable-branch-worker", {"Work": {"Type": "Pass", "End": True}}, "Work")
    machine = create(server, "durable-branch-callbacks", {
        "Both": {"Type": "Parallel", "ResultPath": "$.answers", "End": True, "Branches": [
            {"StartAt": "AskLeft", "States": {"AskLeft": _asks(worker, "branch", "$.left")}},
            {"StartAt": "AskRight", "States": {"AskRight": _asks(worker, "branch", "$.right")}},
        ]},
    }, "Both")
    arn = server.client("stepfunctions").start_execution(
        stateMachineArn=machine, input='{"left": "L", "right": "R"}')["executionArn"]
    _waiting(server, arn, 2)
    tokens = _handed_out(server, worker, "branch")
    assert sorted(tokens) == ["L", "R"] and tokens["L"] != tokens["R"]
    before = history(server, arn)
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    sfn = again.client("stepfunctions")  # answered as soon as the server is up: the tokens were reissued
    sfn.send_task_success(taskToken=tokens["R"], output='{"right": "yes"}')
    sfn.send_task_success(taskToken=tokens["L"], output='{"left": "yes"}')
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {
        "left": "L", "right": "R", "answers": [{"left": "yes"}, {"right": "yes"}]}
    events = history(again, arn)
    _assert_answered_once(events, 2)
    types = Counter(e["type"] for e in events)
    assert types["ParallelStateStarted"] == types["ParallelStateSucceeded"] == 1
    assert [_event_key(e) for e in events[: len(before)]] == [_event_key(e) for e in before]
    # a token answered once is closed: a second answer is refused as AWS refuses it
    try:
        sfn.send_task_success(taskToken=tokens["L"], output="{}")
    except sfn.exceptions.TaskTimedOut:
        pass
    else:
        raise AssertionError("a second SendTaskSuccess with the same token was accepted")


def test_task_tokens_of_waiting_map_iterations_outlive_kill_9(start_server: StartServer) -> None:
    server = start_server()
    worker = create(server, "durable-item-worker", {"Work": {"Type": "Pass", "End": True}}, "Work")
    machine = create(server, "durable-item-callbacks", {
        "Each": {"Type": "Map", "ItemsPath": "$.items", "End": True,
                 "ItemProcessor": {"StartAt": "AskItem", "States": {"AskItem": _asks(worker, "item", "$")}}},
    }, "Each")
    arn = server.client("stepfunctions").start_execution(
        stateMachineArn=machine, input='{"items": ["a", "b"]}')["executionArn"]
    _waiting(server, arn, 2)
    tokens = _handed_out(server, worker, "item")
    assert sorted(tokens) == ["a", "b"]
    server.stop(signal.SIGKILL)

    again = start_server(data_dir=server.data_dir)
    sfn = again.client("stepfunctions")
    for item in ("b", "a"):
        sfn.send_task_success(taskToken=tokens[item], output=json.dumps({"got": item}))
    described = finished(again, arn)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == [{"got": "a"}, {"got": "b"}]
    events = history(again, arn)
    _assert_answered_once(events, 2, per_state=2)  # AskItem in each of the two iterations
    types = Counter(e["type"] for e in events)
    assert types["MapStateStarted"] == types["MapStateSucceeded"] == 1
    assert types["MapIterationStarted"] == types["MapIterationSucceeded"] == 2
