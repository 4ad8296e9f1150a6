"""TestState: run one state of a definition, once, and say what happened.

Why here: AWS points users of Step Functions Local to TestState (``aws-facts.md``); it is the quickest
loop for a state's data flow and error handling. It runs the state through the same engine as an
execution, with three differences:

- a ``mock`` replaces the Task's call: ``result`` (JSON text) is the task's result, ``errorOutput``
  (``{error, cause}``) its failure;
- a retry is not waited for: a failure a Retrier would retry answers ``RETRIABLE``;
- a failure a Catcher handles answers ``CAUGHT_ERROR`` with the catcher's output and ``nextState``.

``status`` is ``SUCCEEDED`` (with ``output`` and, unless the state ends, ``nextState``), ``FAILED``,
``RETRIABLE`` or ``CAUGHT_ERROR``. At ``DEBUG``/``TRACE`` ``inspectionData`` carries the state's
``input`` (and ``variables`` when given).

``inspectionData`` holds the data-flow steps the engine notes (``Engine.run_state``). A mocked
Parallel or Map does not run its branches or iterations: the mock is the whole state's result, so it
runs as a Task stand-in with the same data flow, and reports the steps AWS reports for its type.

Not yet: ``stateConfiguration`` (retry counts, Map failure counts), ``errorDetails``, a
``stateName`` inside a Map's ItemProcessor. docs/conformance.md lists the cases.

Example:
    >>> _wrap({"Type": "Pass", "Next": "B"})["States"]["B"]
    {'Type': 'Succeed'}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InvalidDefinition, InvalidExecutionInput, ValidationException
from .clock import Clock
from .errors import StatesError
from .executions import dumps
from .validation import require

__all__ = ["TEST_STATE_NAME", "run_test_state"]

#: the name AWS gives a single state (its context object says ``State.Name: "StateName"``)
TEST_STATE_NAME = "StateName"
_LEVELS = ("INFO", "DEBUG", "TRACE")


class _RetryWanted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by the clock when the engine would sleep before a retry."""


class _NoWaitClock:
    """The service's clock, except that a sleep means "a Retrier wants another attempt".

    Wait states do not run under TestState, so the engine only sleeps between retries.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        #: the back-off the engine asked for before the retry it wanted
        self.backoff: float | None = None

    def time(self) -> float:
        return self._clock.time()

    def now(self) -> Any:
        return self._clock.now()

    async def sleep(self, seconds: float) -> None:
        self.backoff = seconds
        raise _RetryWanted()


class _MockTasks:
    """The TaskInvoker under TestState: the mock when given, else the real tasks."""

    def __init__(self, mock: dict[str, Any] | None, real: Callable[[], Any]) -> None:
        self._mock = mock
        self._real = real

    async def invoke(self, resource: str, payload: Any, *, timeout_s: float | None) -> Any:
        if self._mock is None:
            return await self._real().invoke(resource, payload, timeout_s=timeout_s)
        if "errorOutput" in self._mock:
            failure = self._mock["errorOutput"] or {}
            raise StatesError(str(failure.get("error", "")), failure.get("cause"))
        try:
            return json.loads(self._mock.get("result", "null"))
        except ValueError:
            raise ValidationException("The mock result must be valid JSON") from None


class _Failures:
    """A recorder that keeps the last failure event's error and cause (for RETRIABLE/CAUGHT_ERROR)."""

    def __init__(self) -> None:
        self.last: tuple[str | None, str | None] | None = None

    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        failure = type.endswith("Failed") or type.endswith("TimedOut")
        if failure and details is not None and "error" in details:
            self.last = (details.get("error"), details.get("cause"))


def _targets(state: dict[str, Any]) -> set[str]:
    names = {state.get("Next"), state.get("Default")}
    names |= {c.get("Next") for c in state.get("Choices") or [] if isinstance(c, dict)}
    names |= {c.get("Next") for c in state.get("Catch") or [] if isinstance(c, dict)}
    return {n for n in names if isinstance(n, str)}


#: the fields a Parallel or Map keeps when its result is mocked and it runs as a Task
_AS_TASK = ("Comment", "QueryLanguage", "InputPath", "Parameters", "Arguments", "ResultSelector",
            "ResultPath", "OutputPath", "Output", "Assign", "Retry", "Catch", "Next", "End")
_MOCK_RESOURCE = "arn:aws:states:::asyncgate:testStateMock"


def _mocked_as_task(state: dict[str, Any]) -> dict[str, Any]:
    """A Parallel or Map whose result is mocked: the same data flow around one mocked call.

    The mock replaces the whole state's result (the branches or iterations do not run), so the
    state behaves as a Task with its InputPath/Parameters (Arguments), ResultSelector, ResultPath,
    OutputPath (Output), Assign, Retry and Catch.
    """
    fields = [f for f in _AS_TASK if not (state.get("Type") == "Map" and f == "Parameters")]
    task = {k: state[k] for k in fields if k in state}
    task.update({"Type": "Task", "Resource": _MOCK_RESOURCE})
    return task


def _wrap(state: dict[str, Any], name: str = TEST_STATE_NAME) -> dict[str, Any]:
    """A one-state machine; the states it may go to become Succeed placeholders."""
    states: dict[str, Any] = {target: {"Type": "Succeed"} for target in _targets(state)}
    states[name] = state
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    if "QueryLanguage" in state:
        machine["QueryLanguage"] = state["QueryLanguage"]
    return machine


def _json_param(request: dict[str, Any], field: str, default: Any) -> Any:
    text = request.get(field)
    if text is None:
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        if field == "input":
            raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{text}'") from None
        raise ValidationException(
            f"1 validation error detected: Value at '{field}' must be valid JSON") from None


async def run_test_state(request: dict[str, Any], *, clock: Clock, tasks: Callable[[], Any],
                         role_default: str = "") -> dict[str, Any]:
    """The TestState API: run the state, answer status, output/error/cause, nextState, inspectionData."""
    from .engine import Engine
    from .model import End, Failed, Next
    from .parse import parse_definition

    level = request.get("inspectionLevel") or "INFO"
    if level not in _LEVELS:
        raise ValidationException(
            f"1 validation error detected: Value '{level}' at 'inspectionLevel' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(_LEVELS)}]"
        )
    try:
        doc = json.loads(require(request, "definition"))
    except ValueError as exc:
        raise InvalidDefinition(
            f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {exc}'") from None
    if not isinstance(doc, dict):
        raise InvalidDefinition(
            "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Expected value of type: OBJECT "
            "at /'")
    name = request.get("stateName")
    mocked = request.get("mock") is not None
    original: dict[str, Any] = {}
    if "States" in doc:
        machine = doc
        name = name or doc.get("StartAt")
        target = (doc.get("States") or {}).get(name)
        if mocked and isinstance(target, dict) and target.get("Type") in ("Parallel", "Map"):
            original = target
            machine = {**doc, "States": {**doc["States"], name: _mocked_as_task(target)}}
    else:
        # state names share one namespace with nested ones (a Map's ItemProcessor): avoid a clash
        name = TEST_STATE_NAME if f'"{TEST_STATE_NAME}"' not in json.dumps(doc) else f"_{TEST_STATE_NAME}_"
        if mocked and doc.get("Type") in ("Parallel", "Map"):
            original, doc = doc, _mocked_as_task(doc)
        machine = _wrap(doc, name)
    definition = parse_definition(machine)
    state = definition.states.get(name) if isinstance(name, str) else None
    if state is None:
        raise ValidationException(f"State '{name}' does not exist in the definition")
    value = _json_param(request, "input", {})
    variables = _json_param(request, "variables", {})
    given_context = _json_param(request, "context", None)

    failures = _Failures()
    no_wait = _NoWaitClock(clock)
    engine = Engine(definition, tasks=_MockTasks(request.get("mock"), tasks), clock=no_wait)
    role = request.get("roleArn") or role_default
    ctx = _test_context(role=role, start=clock.time(), value=value)
    steps: dict[str, dict[str, Any]] = {}

    out: dict[str, Any] = {}
    try:
        transition = await engine.run_state(
            name, value, ctx, failures, variables=variables,
            context=given_context if isinstance(given_context, dict) else None, inspection=steps,
        )
    except _RetryWanted:
        error, cause = failures.last or (None, None)
        out["status"] = "RETRIABLE"
        transition = None
    except StatesError as exc:
        out["status"] = "FAILED"
        error, cause = exc.error, exc.cause
        transition = None
    if transition is not None:
        match transition:
            case Failed(error=error, cause=cause):
                out["status"] = "FAILED"
            case Next(name=next_name, output=output):
                catch_targets = {c.next for c in getattr(state, "catch", ())}
                caught = failures.last is not None or (
                    next_name in catch_targets and next_name != getattr(state, "next", None))
                out["status"] = "CAUGHT_ERROR" if caught else "SUCCEEDED"
                out["output"] = dumps(output)
                out["nextState"] = next_name
                error, cause = (failures.last or (None, None)) if caught else (None, None)
            case End(output=output):
                out["status"] = "SUCCEEDED"
                out["output"] = dumps(output)
                error = cause = None
    if error is not None:
        out["error"] = error
    if cause is not None:
        out["cause"] = cause
    if level != "INFO":
        inspection: dict[str, Any] = {"input": dumps(value)}
        noted_steps = steps.get(name, {})
        if original:  # a mocked Parallel/Map ran as a Task: report what AWS reports for the real type
            noted_steps = _as_original(original, noted_steps)
        for step, noted in noted_steps.items():
            # numbers stay numbers (InspectionData's maxConcurrency, toleratedFailure*); data is JSON text
            inspection[step] = noted if step in _NUMERIC_STEPS else dumps(noted)
        if variables:
            inspection["variables"] = dumps(variables)
        details = _error_details(state, out, no_wait.backoff)
        if details:
            inspection["errorDetails"] = details
        out["inspectionData"] = inspection
    return out


def _error_details(state: Any, out: dict[str, Any], backoff: float | None) -> dict[str, Any]:
    """``errorDetails``: which Catcher caught the error, or which Retrier wants it and after how long."""
    from .retry import error_matches

    error = out.get("error")
    if error is None:
        return {}
    if out["status"] == "CAUGHT_ERROR":
        for i, catcher in enumerate(getattr(state, "catch", ())):
            if error_matches(catcher.error_equals, error):
                return {"catchIndex": i}
    if out["status"] == "RETRIABLE":
        for i, retrier in enumerate(getattr(state, "retry", ())):
            if error_matches(retrier.error_equals, error):
                details: dict[str, Any] = {"retryIndex": i}
                if backoff is not None:
                    whole = backoff == int(backoff)
                    details["retryBackoffIntervalSeconds"] = int(backoff) if whole else backoff
                return details
    return {}


def _as_original(state: dict[str, Any], noted: dict[str, Any]) -> dict[str, Any]:
    """The inspection steps of a mocked Parallel or Map from those its Task stand-in noted."""
    if state.get("Type") == "Parallel":
        return {k: v for k, v in noted.items() if k in ("afterResultSelector", "afterResultPath")}
    kept = ("afterInputPath", "afterResultSelector", "afterResultPath")
    out = {k: v for k, v in noted.items() if k in kept}
    limit = state.get("MaxConcurrency", 0)
    out["maxConcurrency"] = limit if isinstance(limit, int) else 0
    count = state.get("ToleratedFailureCount")
    if isinstance(count, int):
        out["toleratedFailureCount"] = count
    percentage = state.get("ToleratedFailurePercentage")
    if isinstance(percentage, int | float) and not isinstance(percentage, bool):
        out["toleratedFailurePercentage"] = float(percentage)
    return out


_NUMERIC_STEPS = frozenset({"maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage"})


def _test_context(*, role: str, start: float, value: Any) -> Any:
    """The execution part of TestState's context object: like an execution's, without RedriveCount."""
    from .engine import ExecutionContext

    class _TestStateContext(ExecutionContext):
        def context_object(self) -> dict[str, Any]:
            out = ExecutionContext.context_object(self)
            out["Execution"].pop("RedriveCount", None)
            return out

    return _TestStateContext(
        execution_arn="arn:aws:states:us-east-1:000000000000:express:TestState:test",
        execution_name="test",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:TestState",
        state_machine_name="TestState", start_date=start, role_arn=role, input=value,
    )
