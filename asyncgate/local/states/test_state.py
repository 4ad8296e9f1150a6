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

``inspectionData`` holds the data-flow steps the engine notes (``Engine.run_state``) and
``errorDetails`` (``catchIndex``; ``retryIndex`` with ``retryBackoffIntervalSeconds``). A mocked Map
runs as a Map that does not run its iterations (``TestStateRun``: ItemsPath/Items, its limits and
``stateConfiguration.mapIterationFailureCount`` apply); a mocked Parallel runs as a Task stand-in with
the same data flow, reporting the steps AWS reports for a Parallel. ``stateConfiguration``'s
``retrierRetryCount`` starts the Retrier's count. ``stateName`` may name a state inside a Map's
ItemProcessor (at any depth), which then runs on its own. ``test_state_checks.py`` refuses what AWS
refuses (which states take a mock, what a mock must look like).

Example:
    >>> _wrap({"Type": "Pass", "Next": "B"})["States"]["B"]
    {'Type': 'Succeed'}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InvalidDefinition, InvalidExecutionInput, SerializationException, ValidationException
from .clock import Clock
from .errors import StatesError
from .executions import dumps
from .test_state_checks import check_request, mock_value
from .test_state_run import TestStateRun
from .validation import constraint_error, require

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
        result, error = mock_value(self._mock)
        if error is not None:
            raise StatesError(*error)
        return result


class _Silent:
    """TestState keeps no history: the failure it answers comes from ``TestStateRun.last_failure``."""

    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        return None


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
    """A Parallel whose result is mocked: the same data flow around one mocked call.

    The mock replaces the whole state's result (the branches do not run), so the state behaves as a
    Task with its InputPath/Parameters (Arguments), ResultSelector, ResultPath, OutputPath (Output),
    Assign, Retry and Catch.
    """
    task = {k: state[k] for k in _AS_TASK if k in state}
    task.update({"Type": "Task", "Resource": _MOCK_RESOURCE})
    return task


def _wrap(state: dict[str, Any], name: str = TEST_STATE_NAME, language: Any = None) -> dict[str, Any]:
    """A one-state machine; the states it may go to become Succeed placeholders."""
    states: dict[str, Any] = {target: {"Type": "Succeed"} for target in _targets(state)}
    states[name] = state
    machine: dict[str, Any] = {"StartAt": name, "States": states}
    language = state.get("QueryLanguage", language)
    if language is not None:
        machine["QueryLanguage"] = language
    return machine


def _nested(states: Any, name: str, language: Any) -> tuple[dict[str, Any], Any] | None:
    """A state inside a Map's ItemProcessor (or Iterator), at any depth, with its query language."""
    if not isinstance(states, dict):
        return None
    for state in states.values():
        if not isinstance(state, dict) or state.get("Type") != "Map":
            continue
        inner_language = state.get("QueryLanguage", language)
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        inner = processor.get("States") if isinstance(processor, dict) else None
        if isinstance(inner, dict) and isinstance(inner.get(name), dict):
            return inner[name], processor.get("QueryLanguage", inner_language)
        found = _nested(inner, name, inner_language)
        if found is not None:
            return found
    return None


def _count(config: dict[str, Any], field: str) -> int | None:
    """An Integer member of TestStateConfiguration (valid range: minimum 0)."""
    value = config.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        token = {str: "STRING_VALUE", bool: "TRUE_VALUE" if value else "FALSE_VALUE",
                 float: "NUMBER_VALUE", list: "START_ARRAY", dict: "START_OBJECT"}.get(type(value), "VALUE")
        raise SerializationException(f"{token} can not be converted to an Integer")
    if value < 0:
        raise constraint_error(f"stateConfiguration.{field}",
                               "Member must have value greater than or equal to 0", str(value))
    return value


def _testing(request: dict[str, Any], name: str, mocked_map: bool) -> TestStateRun:
    """``TestStateRun`` from the request's ``mock`` (for a Map) and ``stateConfiguration``.

    The constraints are the API reference's (``TestStateConfiguration``); errorCausedByState and
    mapItemReaderData are sensitive, so their values stay out of the messages.
    """
    config = request.get("stateConfiguration") or {}
    if not isinstance(config, dict):
        raise SerializationException("Start of structure or map found where not expected")
    caused_by = config.get("errorCausedByState")
    if caused_by is not None and not (isinstance(caused_by, str) and 1 <= len(caused_by) <= 80):
        raise constraint_error("stateConfiguration.errorCausedByState",
                               "Member must have length less than or equal to 80")
    reader_text = config.get("mapItemReaderData")
    if isinstance(reader_text, str) and len(reader_text) > 262_144:
        raise constraint_error("stateConfiguration.mapItemReaderData",
                               "Member must have length less than or equal to 262144")
    reader_data = _json_param(config, "mapItemReaderData", None) if reader_text is not None else None
    result, error = mock_value(request["mock"]) if mocked_map else (None, None)
    return TestStateRun(
        state_name=name, mocked=mocked_map, mock_result=result, mock_error=error,
        retrier_retry_count=_count(config, "retrierRetryCount") or 0,
        map_iteration_failure_count=_count(config, "mapIterationFailureCount"),
        map_item_reader_data=reader_data,
    )


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
        # (a name that is not a string names no state: the States' keys are JSON strings)
        if target is None and isinstance(name, str):
            nested = _nested(doc.get("States"), name, doc.get("QueryLanguage"))
            if nested is not None:  # a state inside a Map's ItemProcessor runs on its own
                target, machine = nested[0], _wrap(nested[0], name, nested[1])
        if mocked and isinstance(target, dict) and target.get("Type") == "Parallel":
            original = target
            machine = {**machine, "States": {**machine["States"], name: _mocked_as_task(target)}}
    else:
        # state names share one namespace with nested ones (a Map's ItemProcessor): avoid a clash
        name = TEST_STATE_NAME if f'"{TEST_STATE_NAME}"' not in json.dumps(doc) else f"_{TEST_STATE_NAME}_"
        target = doc
        if mocked and doc.get("Type") == "Parallel":
            original, doc = doc, _mocked_as_task(doc)
        machine = _wrap(doc, name)
    definition = parse_definition(machine)
    state = definition.states.get(name) if isinstance(name, str) else None
    if state is None or not isinstance(name, str):  # (a state found means a string name)
        raise ValidationException(f"State '{name}' does not exist in the definition")
    check_request(request, target)
    value = _json_param(request, "input", {})
    variables = _json_param(request, "variables", {})
    given_context = _json_param(request, "context", None)

    mocked_map = mocked and isinstance(target, dict) and target.get("Type") == "Map"
    testing = _testing(request, name, mocked_map)
    no_wait = _NoWaitClock(clock)
    engine = Engine(definition, tasks=_MockTasks(request.get("mock"), tasks), clock=no_wait)
    role = request.get("roleArn") or role_default
    ctx = _test_context(role=role, start=clock.time(), value=value)
    steps: dict[str, dict[str, Any]] = {}

    out: dict[str, Any] = {}
    try:
        transition = await engine.run_state(
            name, value, ctx, _Silent(), variables=variables,
            context=given_context if isinstance(given_context, dict) else None, inspection=steps,
            testing=testing,
        )
    except _RetryWanted:
        error, cause = _failure(testing)
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
                caught = testing.last_failure is not None or (
                    next_name in catch_targets and next_name != getattr(state, "next", None))
                out["status"] = "CAUGHT_ERROR" if caught else "SUCCEEDED"
                out["output"] = dumps(output)
                out["nextState"] = next_name
                error, cause = _failure(testing) if caught else (None, None)
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
        if original:  # a mocked Parallel ran as a Task: report what AWS reports for a Parallel
            noted_steps = _as_original(original, noted_steps)
        for step, noted in noted_steps.items():
            # numbers stay numbers (InspectionData's maxConcurrency, toleratedFailure*); data is JSON text
            if step in _NUMERIC_STEPS:
                inspection[step] = noted
            elif step == "afterItemsPath":  # recorded with json.dumps' ", " / ": " separators
                inspection[step] = json.dumps(noted, ensure_ascii=False)
            else:
                inspection[step] = dumps(noted)
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
    if out["status"] in ("RETRIABLE", "FAILED"):  # FAILED: the Retrier that matched has no attempts left
        for i, retrier in enumerate(getattr(state, "retry", ())):
            if error_matches(retrier.error_equals, error):
                details: dict[str, Any] = {"retryIndex": i}
                if backoff is not None and out["status"] == "RETRIABLE":
                    whole = backoff == int(backoff)
                    details["retryBackoffIntervalSeconds"] = int(backoff) if whole else backoff
                return details
    return {}


def _as_original(state: dict[str, Any], noted: dict[str, Any]) -> dict[str, Any]:
    """The inspection steps of a mocked Parallel from those its Task stand-in noted."""
    return {k: v for k, v in noted.items() if k in ("afterResultSelector", "afterResultPath")}


def _failure(testing: TestStateRun) -> tuple[str | None, str | None]:
    failed = testing.last_failure
    return (failed.error, failed.cause) if failed is not None else (None, None)


_NUMERIC_STEPS = frozenset({"maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage"})


def _test_context(*, role: str, start: float, value: Any) -> Any:
    """The execution part of TestState's context object: like an execution's, without RedriveCount.

    ``roleArn`` is optional in TestState; without one AWS shows ``Execution.RoleArn`` as null (recorded).
    """
    from .engine import ExecutionContext

    class _TestStateContext(ExecutionContext):
        def context_object(self) -> dict[str, Any]:
            out = ExecutionContext.context_object(self)
            out["Execution"].pop("RedriveCount", None)
            out["Execution"]["RoleArn"] = self.role_arn or None
            return out

    return _TestStateContext(
        execution_arn="arn:aws:states:us-east-1:000000000000:express:TestState:test",
        execution_name="test",
        state_machine_arn="arn:aws:states:us-east-1:000000000000:stateMachine:TestState",
        state_machine_name="TestState", start_date=start, role_arn=role, input=value,
    )
