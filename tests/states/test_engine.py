"""Engine unit tests: the seed workflow, history shapes, Retry timing, Catch, timeouts.

Tasks are served by ``FakeLambda``, a fake of *AWS Lambda* behind ``LambdaTasks`` (function errors
as Lambda reports them: ``function_error="Unhandled"`` and the error document as payload), so the
engine's own Lambda handling is what runs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from asyncgate.local.errors import ResourceNotFoundException
from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Failed, Succeeded, TimedOut
from asyncgate.local.states.retry import next_delay
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import run_definition

LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:processor"
CDK_RETRY = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}


@dataclass
class _Result:
    status_code: int
    payload: bytes
    function_error: str | None = None
    executed_version: str = "$LATEST"
    log_tail: str = ""


class FakeLambda:
    """Stands in for LambdaService: ``handlers[name](event) -> value`` or raises (an Unhandled error)."""

    def __init__(self, clock: VirtualClock | None = None, **handlers: Callable[[Any], Any]) -> None:
        self.handlers = handlers
        self.calls: list[tuple[str, Any]] = []
        self.clock = clock

    def get(self, name: str) -> Any:
        if name.split(":")[0] not in self.handlers:
            raise ResourceNotFoundException(f"Function not found: {name}")
        return name

    async def invoke(
        self, name: str, payload: bytes, *, invocation_type: str = "RequestResponse", json_body: bool = False
    ) -> _Result:
        self.get(name)  # Invoke answers ResourceNotFoundException for a function it does not have
        event = json.loads(payload) if payload else None
        self.calls.append((name, event))
        handler = self.handlers[name.split(":")[0]]
        try:
            value = handler(event)
            if asyncio.iscoroutine(value):
                value = await value
        except Exception as exc:  # the Lambda runtime's error document
            doc = {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "requestId": "r",
                "stackTrace": [],
            }
            return _Result(200, json.dumps(doc).encode(), "Unhandled")
        return _Result(200, json.dumps(value).encode())


def seed_definition(**task: Any) -> dict[str, Any]:
    """The seed's workflow as CDK synthesizes it: LambdaInvoke (OutputPath $.Payload) then a Pass."""
    state = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "OutputPath": "$.Payload",
        "Parameters": {"FunctionName": LAMBDA_ARN, "Payload.$": "$"},
        "Retry": [CDK_RETRY],
        "Next": "Done",
    }
    state.update(task)
    return {"StartAt": "Process", "States": {"Process": state, "Done": {"Type": "Pass", "End": True}}}


def run(definition: Any, value: Any, lam: FakeLambda | None = None, clock: VirtualClock | None = None) -> Any:
    clock = clock or VirtualClock()
    tasks = LambdaTasks(lam) if lam is not None else None
    return asyncio.run(run_definition(definition, value, tasks=tasks, clock=clock))


def test_seed_workflow_output_and_history() -> None:
    lam = FakeLambda(processor=lambda e: {"processed": e["body"]})
    outcome, events = run(seed_definition(), {"body": "hi"}, lam)
    assert outcome == Succeeded({"processed": "hi"})
    assert events.types == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
    ]
    _, _, scheduled = events.items[1]
    assert scheduled == {
        "resourceType": "lambda",
        "resource": "invoke",
        "region": "us-east-1",
        "parameters": json.dumps(
            {"FunctionName": LAMBDA_ARN, "Payload": {"body": "hi"}}, separators=(",", ":")
        ),
    }
    succeeded = json.loads(events.items[3][2]["output"])
    assert set(succeeded) == {
        "ExecutedVersion",
        "Payload",
        "SdkHttpMetadata",
        "SdkResponseMetadata",
        "StatusCode",
    }
    assert succeeded["Payload"] == {"processed": "hi"} and succeeded["StatusCode"] == 200
    assert events.items[0] == (
        2,
        "TaskStateEntered",
        {"name": "Process", "input": '{"body":"hi"}', "inputDetails": {"truncated": False}},
    )
    assert events.items[-1][2] == {
        "name": "Done",
        "output": '{"processed":"hi"}',
        "outputDetails": {"truncated": False},
    }


def test_cdk_default_retry_backs_off_2_4_8_then_succeeds() -> None:
    """CDK's retry: IntervalSeconds 2, BackoffRate 2, MaxAttempts 6 on Lambda service errors."""
    clock = VirtualClock(start=0.0)
    failures = iter([True, True, True, False])

    def flaky(event: Any) -> Any:
        if next(failures):
            raise type("ServiceException", (Exception,), {})("busy")
        return "ok"

    lam = FakeLambda(processor=flaky)
    # a Lambda error's name is its errorType; the retrier names Lambda.ServiceException
    definition = seed_definition(Retry=[dict(CDK_RETRY, ErrorEquals=["ServiceException"])])
    outcome, events = run(definition, {}, lam, clock)
    assert outcome == Succeeded("ok")
    assert [s for s in clock.sleeps if s] == [2.0, 4.0, 8.0]
    assert clock.time() == 14.0
    assert events.types.count("TaskScheduled") == 4 and events.types.count("TaskFailed") == 3
    assert events.types.count("TaskStateEntered") == 1


def test_retry_exhausted_fails_with_lambda_error_and_json_cause() -> None:
    clock = VirtualClock(start=0.0)

    def boom(event: Any) -> Any:
        raise ValueError("bad input")

    outcome, events = run(
        seed_definition(Retry=[{"ErrorEquals": ["ValueError"], "MaxAttempts": 2, "IntervalSeconds": 1}]),
        {},
        FakeLambda(processor=boom),
        clock,
    )
    assert isinstance(outcome, Failed) and outcome.error == "ValueError"
    assert json.loads(outcome.cause)["errorMessage"] == "bad input"
    assert [s for s in clock.sleeps if s] == [1.0, 2.0]
    assert events.types[-1] == "TaskFailed"


def test_max_delay_seconds_caps_backoff() -> None:
    from asyncgate.local.states.model import Retrier

    r = Retrier(error_equals=("E",), interval_seconds=3, max_attempts=5, backoff_rate=3, max_delay_seconds=20)
    assert [next_delay([r], "E", [n]) for n in range(6)] == [3.0, 9.0, 20.0, 20.0, 20.0, None]
    assert next_delay([r], "Other", [0]) is None


def test_max_attempts_zero_never_retries_and_first_matching_retrier_wins() -> None:
    from asyncgate.local.states.model import Retrier

    never = Retrier(error_equals=("E",), max_attempts=0)
    later = Retrier(error_equals=("States.ALL",), max_attempts=3)
    assert next_delay([never, later], "E", [0, 0]) is None
    assert next_delay([never, later], "F", [0, 0]) == 1.0


def test_jitter_full_stays_within_the_backoff() -> None:
    from asyncgate.local.states.model import Retrier
    from asyncgate.local.states.retry import plan_retry

    r = Retrier(error_equals=("E",), interval_seconds=10, backoff_rate=2, jitter_strategy="FULL")
    assert plan_retry([r], "E", [1], rand=lambda: 0.25) == (0, 5.0)


def test_catch_places_error_output_by_result_path() -> None:
    def boom(event: Any) -> Any:
        raise KeyError("x")

    definition = seed_definition(
        Retry=[],
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recovered"}],
    )
    definition["States"]["Recovered"] = {"Type": "Pass", "End": True}
    outcome, events = run(definition, {"a": 1}, FakeLambda(processor=boom))
    assert isinstance(outcome, Succeeded)
    assert outcome.output["a"] == 1 and outcome.output["error"]["Error"] == "KeyError"
    assert events.types[-3:] == ["TaskStateExited", "PassStateEntered", "PassStateExited"]


def test_states_task_failed_does_not_catch_timeout_but_states_all_does() -> None:
    async def slow(event: Any) -> Any:
        await clock.sleep(100)
        return "late"

    clock = VirtualClock(start=0.0)
    definition = seed_definition(
        Retry=[],
        TimeoutSeconds=5,
        Catch=[
            {"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"},
            {"ErrorEquals": ["States.ALL"], "Next": "Right"},
        ],
    )
    definition["States"]["Wrong"] = {"Type": "Pass", "Result": "wrong", "End": True}
    definition["States"]["Right"] = {"Type": "Pass", "Result": "right", "End": True}
    outcome, events = run(definition, {}, FakeLambda(processor=slow), clock)
    assert outcome == Succeeded("right")
    assert "TaskTimedOut" in events.types
    assert clock.time() == 5.0


def test_task_timeout_fails_with_states_timeout() -> None:
    clock = VirtualClock(start=0.0)

    async def slow(event: Any) -> Any:
        await clock.sleep(60)
        return event

    definition = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": LAMBDA_ARN, "TimeoutSeconds": 3, "End": True}},
    }
    outcome, events = run(definition, {}, FakeLambda(processor=slow), clock)
    assert outcome == Failed("States.Timeout", None)
    assert events.types == [
        "TaskStateEntered",
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionTimedOut",
    ]
    assert events.items[1][2]["timeoutInSeconds"] == 3
    assert clock.time() == 3.0


def test_function_arn_task_returns_the_payload_and_records_lambda_events() -> None:
    lam = FakeLambda(processor=lambda e: [e, 1])
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA_ARN.replace("000000000000", "111111111111"), "End": True}
        },
    }
    outcome, events = run(definition, {"x": 1}, lam)
    assert outcome == Succeeded([{"x": 1}, 1])
    assert lam.calls == [("processor", {"x": 1})]
    assert events.types[1:4] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    assert events.items[3][2] == {"output": '[{"x":1},1]', "outputDetails": {"truncated": False}}


def test_missing_function_is_lambda_resource_not_found() -> None:
    definition = seed_definition(Retry=[], Parameters={"FunctionName": "nope", "Payload.$": "$"})
    outcome, _ = run(definition, {}, FakeLambda(processor=lambda e: e))
    assert isinstance(outcome, Failed) and outcome.error == "Lambda.ResourceNotFoundException"
    assert outcome.cause.startswith(
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope:$LATEST"
    )


def test_machine_timeout_seconds_times_out() -> None:
    clock = VirtualClock(start=0.0)
    definition = {
        "TimeoutSeconds": 10,
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}},
    }
    outcome, _ = run(definition, {}, clock=clock)
    assert isinstance(outcome, TimedOut) and outcome.error == "States.Timeout"
    assert clock.time() == 10.0


def test_no_choice_matched() -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "A"}]},
            "A": {"Type": "Succeed"},
        },
    }
    outcome, events = run(definition, {"n": 2})
    assert outcome == Failed("States.NoChoiceMatched", "No Matches!")
    assert events.types == ["ChoiceStateEntered"]


@pytest.mark.parametrize("size, ok", [(262_144 - 8, True), (262_144, False)])
def test_state_output_over_256_kib_is_data_limit_exceeded(size: int, ok: bool) -> None:
    # '{"a":"' + x*n + '"}' is n + 8 bytes
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"a": "x" * size}, "End": True}}}
    outcome, _ = run(definition, {})
    if ok:
        assert isinstance(outcome, Succeeded)
    else:
        assert outcome == Failed(
            "States.DataLimitExceeded",
            "The state/task 'P' returned a result with a size exceeding the maximum number of bytes service "
            "limit.",
        )


def test_run_state_runs_one_state_with_given_context_and_notes_the_data_flow() -> None:
    from asyncgate.local.states.engine import Engine
    from asyncgate.local.states.model import End
    from asyncgate.local.states.parse import parse_definition
    from tests.states.engine_harness import Events, context

    definition = parse_definition(
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Pass",
                    "InputPath": "$.in",
                    "Parameters": {"v.$": "$.v", "ctx.$": "$$"},
                    "ResultPath": "$.out",
                    "End": True,
                }
            },
        }
    )
    inspection: dict[str, Any] = {}
    t = asyncio.run(
        Engine(definition, tasks=None, clock=VirtualClock()).run_state(
            "P", {"in": {"v": 1}}, context({}), Events(), context={"Custom": 1}, inspection=inspection
        )
    )
    assert t == End({"in": {"v": 1}, "out": {"v": 1, "ctx": {"Custom": 1}}})
    assert inspection["P"]["afterInputPath"] == {"v": 1}
    assert inspection["P"]["afterParameters"] == {"v": 1, "ctx": {"Custom": 1}}
    assert inspection["P"]["afterResultPath"] == t.output


def test_an_endless_pass_loop_yields_to_the_event_loop() -> None:
    """A looping workflow must not starve the one event loop the whole server runs on.

    The recorder ends the run after 20,000 transitions; a ticker task counts how often it got the loop
    meanwhile. An engine that never yields leaves it one tick; no wall clock is involved.
    """
    from asyncgate.local.states.engine import Engine
    from asyncgate.local.states.parse import parse_definition
    from tests.states.engine_harness import Events, context

    definition = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}

    class Bounded(Events):
        async def event(self, type: str, details: dict[str, Any] | None) -> None:
            if self.last_id > 20_000:
                raise RuntimeError("enough")
            await super().event(type, details)

    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        tick = asyncio.ensure_future(ticker())
        clock = VirtualClock()
        engine = Engine(parse_definition(definition), tasks=None, clock=clock)
        run = engine.run({}, context({}, start=clock.time()), Bounded())
        await asyncio.gather(run, return_exceptions=True)
        tick.cancel()
        await asyncio.gather(tick, return_exceptions=True)
        return ticks

    assert asyncio.run(main()) > 10


def test_backoff_never_shrinks_never_passes_max_delay_and_stops_at_max_attempts() -> None:
    """Spec: the interval "MUST be multiplied by BackoffRate after each retry"; MaxDelaySeconds caps it."""
    from hypothesis import given
    from hypothesis import strategies as st

    from asyncgate.local.states.model import Retrier

    @given(
        interval=st.integers(1, 100),
        rate=st.floats(1.0, 5.0),
        attempts=st.integers(0, 8),
        cap=st.one_of(st.none(), st.integers(1, 500)),
    )
    def check(interval: int, rate: float, attempts: int, cap: int | None) -> None:
        r = Retrier(
            error_equals=("E",),
            interval_seconds=interval,
            backoff_rate=rate,
            max_attempts=attempts,
            max_delay_seconds=cap,
        )
        delays = [next_delay([r], "E", [n]) for n in range(attempts + 2)]
        live = [d for d in delays if d is not None]
        assert len(live) == attempts and delays[attempts] is None
        assert all(a <= b for a, b in itertools.pairwise(live))
        assert all(d <= cap for d in live) if cap is not None else True
        assert live[:1] in ([], [float(min(interval, cap or interval))])

    check()


def test_stopping_an_execution_records_the_running_state_as_aborted() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 100, "Next": "P"},
            "P": {"Type": "Pass", "End": True},
        },
    }
    from tests.states.engine_harness import Events

    events = Events()

    async def main() -> None:
        from asyncgate.local.states.clock import SystemClock
        from asyncgate.local.states.engine import Engine
        from asyncgate.local.states.parse import parse_definition
        from tests.states.engine_harness import context

        run = asyncio.ensure_future(
            Engine(parse_definition(definition), tasks=None, clock=SystemClock()).run({}, context({}), events)
        )
        await asyncio.sleep(0.05)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(main())
    assert events.types == ["WaitStateEntered", "WaitStateAborted"]
