"""The execution engine: walks a parsed ``Definition`` state by state and records history.

Why hand-written: no maintained Python ASL engine exists outside LocalStack (and moto's vendored copy
of it). This one keeps LocalStack's fixed state lifecycle but passes values, not an operand stack:

    Entered event -> state module ``run(state, value, ctx) -> Transition`` -> (Retry | Catch) ->
    256 KiB check -> Exited event -> Next

Each state type has its own module (``pass_.py``, ``task.py``, ``choice_state.py``, ``wait.py``,
``succeed.py``, ``fail.py``, ``parallel.py``, ``map_.py``); the engine dispatches with ``match`` on
the Transition they return. The engine records every history event between ``ExecutionStarted``
and the terminal execution event through ``Recorder.event``; the service records those two, assigns
ids and timestamps, and turns the ``Outcome`` into the execution's status.

Example:
    >>> import asyncio
    >>> from .clock import VirtualClock
    >>> from .parse import parse_definition
    >>> d = parse_definition({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": True}}})
    >>> class Rec:
    ...     async def event(self, type, details): print(type)
    >>> ctx = ExecutionContext(execution_arn="arn:e", execution_name="e", state_machine_arn="arn:m",
    ...                        state_machine_name="m")
    >>> asyncio.run(Engine(d, tasks=None, clock=VirtualClock()).run({}, ctx, Rec()))
    PassStateEntered
    PassStateExited
    Succeeded(output=1)
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import choice_state, fail, map_, parallel, pass_, succeed, task, wait
from .clock import Clock, DeadlineExceeded, iso_millis, within
from .dataflow import check_size, evaluate_assign, place_result
from .errors import StatesError, StatesErrorName
from .history import entered, exited
from .model import (
    ChoiceState,
    Definition,
    End,
    Failed,
    FailState,
    MapState,
    Next,
    ParallelState,
    PassState,
    QueryLanguage,
    State,
    SucceedState,
    TaskState,
    Transition,
    WaitState,
)
from .retry import find_catcher, plan_retry
from .scope import Scope
from .tasks import TaskInvoker

__all__ = [
    "Aborted",
    "Engine",
    "ExecutionContext",
    "Failed",
    "Outcome",
    "Recorder",
    "StateContext",
    "Succeeded",
    "TimedOut",
]


class Recorder(Protocol):
    """Where history goes; the service assigns ids, timestamps and previousEventId."""

    async def event(self, type: str, details: dict[str, Any] | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Succeeded:
    """The execution succeeded with ``output``."""

    output: Any


@dataclass(frozen=True, slots=True)
class TimedOut:
    """The machine's ``TimeoutSeconds`` ran out."""

    error: str = "States.Timeout"
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Aborted:
    """The execution was stopped (the service cancels ``run``; this is what it records)."""

    error: str | None = None
    cause: str | None = None


Outcome = Succeeded | Failed | TimedOut | Aborted


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionContext:
    """The execution's part of the context object (``$$.Execution``, ``$$.StateMachine``)."""

    execution_arn: str
    execution_name: str
    state_machine_arn: str
    state_machine_name: str
    #: ISO-8601 with milliseconds (``$$.Execution.StartTime``); derived from start_date when None
    start_time: str | None = None
    #: epoch seconds
    start_date: float | None = None
    role_arn: str = ""
    input: Any = None
    redrive_count: int = 0

    def context_object(self) -> dict[str, Any]:
        """``{"Execution": {...}, "StateMachine": {...}}`` as AWS fills them."""
        start = self.start_time or iso_millis(self.start_date or 0.0)
        return {
            "Execution": {
                "Id": self.execution_arn,
                "Input": self.input,
                "StartTime": start,
                "Name": self.execution_name,
                "RoleArn": self.role_arn,
                "RedriveCount": self.redrive_count,
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_name},
        }


_PREFIX = {
    PassState: "Pass",
    TaskState: "Task",
    ChoiceState: "Choice",
    WaitState: "Wait",
    SucceedState: "Succeed",
    FailState: "Fail",
    ParallelState: "Parallel",
    MapState: "Map",
}
_PREFIXED_ERRORS = frozenset({StatesErrorName.RUNTIME.value, StatesErrorName.QUERY_EVALUATION_ERROR.value})
_RETRYABLE = (TaskState, ParallelState, MapState)


class Engine:
    """Runs one parsed definition; build once per state machine revision, ``run`` per execution."""

    def __init__(self, definition: Definition, *, tasks: TaskInvoker | None, clock: Clock) -> None:
        self.definition = definition
        self.tasks = tasks
        self.clock = clock

    async def run(self, input: Any, ctx: ExecutionContext, recorder: Recorder) -> Outcome:
        """Run the execution to its end; ``TimeoutSeconds`` of the machine gives ``TimedOut``."""
        run = _Run(self, ctx, recorder)
        try:
            result = await within(
                self.clock, self.definition.timeout_seconds, run.machine(self.definition, input, {})
            )
        except DeadlineExceeded:
            return TimedOut()
        if isinstance(result, Failed):
            return result
        return Succeeded(result.output)

    async def run_state(
        self,
        name: str,
        value: Any,
        ctx: ExecutionContext,
        recorder: Recorder,
        *,
        variables: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        inspection: dict[str, dict[str, Any]] | None = None,
    ) -> Transition:
        """Run one top-level state once (TestState): its Retry/Catch apply, the transition is returned.

        ``context`` replaces the whole context object; ``inspection`` (a dict) receives the state's
        data-flow steps under its name (see ``_Run.inspection``).
        """
        run = _Run(self, ctx, recorder)
        run.inspection = inspection
        run.fixed_context = dict(context) if context is not None else None
        return await run.state(self.definition.states[name], value, dict(variables or {}))


class _Run:
    """One execution's shared machinery: the event counter and the outside world."""

    def __init__(self, engine: Engine, ctx: ExecutionContext, recorder: Recorder) -> None:
        self.engine = engine
        self.ctx = ctx
        self.recorder = recorder
        self.base_context = ctx.context_object()
        #: when a dict, each state's data-flow steps are noted in it by state name (TestState's
        #: inspectionData): afterInputPath, afterParameters/afterArguments, result, afterResultSelector,
        #: afterResultPath, afterItemsPath, maxConcurrency, toleratedFailureCount/Percentage
        self.inspection: dict[str, dict[str, Any]] | None = None
        #: when a dict, the whole context object ``$$`` as given (TestState's ``context``), not rebuilt
        self.fixed_context: dict[str, Any] | None = None
        last = getattr(recorder, "last_id", None)
        self._next = (last if isinstance(last, int) else 1) + 1

    async def emit(self, type: str, details: dict[str, Any] | None = None) -> int:
        last = getattr(self.recorder, "last_id", None)
        event_id = last + 1 if isinstance(last, int) else self._next
        self._next = event_id + 1
        await self.recorder.event(type, details)
        return event_id

    async def machine(
        self, definition: Definition, value: Any, variables: MutableMapping[str, Any]
    ) -> End | Failed:
        """Run states from StartAt until End or Failed."""
        name = definition.start_at
        while True:
            state = definition.states[name]
            t = await self.state(state, value, variables)
            match t:
                case Next(name=nxt, output=out, assigned=assigned):
                    if assigned:
                        variables.update(assigned)
                    name, value = nxt, out
                case End(output=out, assigned=assigned):
                    if assigned:
                        variables.update(assigned)
                    return End(out)
                case Failed():
                    return t

    async def state(self, state: State, value: Any, variables: MutableMapping[str, Any]) -> Transition:
        prefix = _PREFIX[type(state)]
        event_id = await self.emit(f"{prefix}StateEntered", entered(state.name, value))
        ctx = StateContext(
            run=self,
            name=state.name,
            entered_event_id=event_id,
            entered_time=self.engine.clock.time(),
            variables=dict(variables),
            counts_retries=isinstance(state, _RETRYABLE),
            scope_variables=variables,
        )
        attempts = [0] * len(getattr(state, "retry", ()))
        while True:
            t = await self._attempt(state, value, ctx)
            if not isinstance(t, Failed) or not isinstance(state, _RETRYABLE):
                break
            plan = plan_retry(state.retry, t.error, attempts)
            if plan is not None:
                attempts[plan[0]] += 1
                ctx.retry_count += 1
                await self.engine.clock.sleep(plan[1])
                continue
            catcher = find_catcher(state.catch, t.error)
            if catcher is not None:
                t = self._caught(state, catcher, t, value, ctx)
            break
        if isinstance(t, Next | End):
            try:
                check_size(t.output, state.name)
            except StatesError as exc:
                return Failed(exc.error, exc.cause)
            await self.emit(
                f"{prefix}StateExited", exited(state.name, t.output, dict(t.assigned or {}) or None)
            )
        return t

    async def _attempt(self, state: State, value: Any, ctx: StateContext) -> Transition:
        try:
            match state:
                case PassState():
                    return await pass_.run(state, value, ctx)
                case TaskState():
                    return await task.run(state, value, ctx)
                case ChoiceState():
                    return await choice_state.run(state, value, ctx)
                case WaitState():
                    return await wait.run(state, value, ctx)
                case SucceedState():
                    return await succeed.run(state, value, ctx)
                case FailState():
                    return await fail.run(state, value, ctx)
                case ParallelState():
                    return await parallel.run(state, value, ctx)
                case MapState():
                    return await map_.run(state, value, ctx)
        except StatesError as exc:
            failed = ctx.failed(exc)
            if exc.error == StatesErrorName.QUERY_EVALUATION_ERROR.value:
                await self.emit("EvaluationFailed", _evaluation_failed(state.name, failed))
            return failed
        raise AssertionError(f"unknown state type {type(state).__name__}")

    def _caught(
        self,
        state: TaskState | ParallelState | MapState,
        catcher: Any,
        failure: Failed,
        value: Any,
        ctx: StateContext,
    ) -> Transition:
        error_output = StatesError(failure.error, failure.cause).to_output()
        try:
            if state.query_language is QueryLanguage.JSONATA:
                scope = ctx.scope(value, error_output=error_output)
                output = catcher.output.render(scope) if catcher.output is not None else error_output
            else:
                scope = ctx.scope(error_output)
                output = place_result(
                    value, error_output, catcher.result_path, null=catcher.result_path is None
                )
            assigned = evaluate_assign(catcher.assign, scope)
        except StatesError as exc:
            return ctx.failed(exc)
        return Next(catcher.next, output, assigned)


def _evaluation_failed(name: str, failed: Failed) -> dict[str, Any]:
    """``evaluationFailedEventDetails``: AWS records one when a JSONata evaluation fails."""
    details: dict[str, Any] = {"error": failed.error, "cause": failed.cause, "state": name}
    marker = "specified for the field '"
    if failed.cause and marker in failed.cause:
        details["location"] = failed.cause.split(marker, 1)[1].split("'", 1)[0]
    return details


@dataclass(slots=True, kw_only=True)
class StateContext:
    """What a state module sees while it runs: its scope, the clock, the tasks, the recorder."""

    run: _Run
    name: str
    entered_event_id: int
    entered_time: float
    #: the variables visible to this state: a snapshot taken when it was entered
    variables: Mapping[str, Any]
    #: the live scope the state's Assign writes to (a Map/Parallel's children chain onto it)
    scope_variables: MutableMapping[str, Any] = field(default_factory=dict)
    retry_count: int = 0
    counts_retries: bool = False

    @property
    def clock(self) -> Clock:
        return self.run.engine.clock

    @property
    def tasks(self) -> TaskInvoker:
        tasks = self.run.engine.tasks
        if tasks is None:
            raise StatesError(StatesErrorName.RUNTIME, "No task invoker is configured for this engine")
        return tasks

    def context(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The context object (``$$``) for this state."""
        if self.run.fixed_context is not None:
            return {**self.run.fixed_context, **(extra or {})}
        state: dict[str, Any] = {"Name": self.name, "EnteredTime": iso_millis(self.entered_time)}
        if self.counts_retries:
            state["RetryCount"] = self.retry_count
        out = dict(self.run.base_context)
        out["State"] = state
        if extra:
            out.update(extra)
        return out

    def scope(
        self,
        value: Any,
        *,
        result: Any = None,
        error_output: Any = None,
        extra_context: Mapping[str, Any] | None = None,
    ) -> Scope:
        """A Scope whose ``$``/``$states.input`` is ``value``."""
        return Scope(
            input=value,
            context=self.context(extra_context),
            variables=self.variables,
            result=result,
            error_output=error_output,
        )

    def note(self, step: str, value: Any) -> None:
        """Remember a data-flow step's value for inspection (no-op unless the run asks for it)."""
        if self.run.inspection is not None:
            self.run.inspection.setdefault(self.name, {})[step] = value

    async def emit(self, type: str, details: dict[str, Any] | None = None) -> int:
        """Record one history event; returns its id."""
        return await self.run.emit(type, details)

    def failed(self, exc: StatesError) -> Failed:
        """A Failed transition; data-flow errors get AWS's "An error occurred while ..." prefix."""
        cause = exc.cause
        if exc.error in _PREFIXED_ERRORS and cause is not None and not cause.startswith("An error occurred"):
            cause = (
                f"An error occurred while executing the state '{self.name}' (entered at the event id "
                f"#{self.entered_event_id}). {cause}"
            )
        return Failed(exc.error, cause)

    async def run_branch(self, definition: Definition, value: Any, *, silent: bool = False) -> End | Failed:
        """Run a Parallel branch or a Map iteration in a child variable scope (outer ones read-only).

        ``silent``: the events go nowhere (a Distributed Map's child executions have their own history).
        """
        child: MutableMapping[str, Any] = ChainMap({}, dict(self.scope_variables))
        run = _Run(self.run.engine, self.run.ctx, _Silent()) if silent else self.run
        return await run.machine(definition, value, child)


class _Silent:
    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        return None
