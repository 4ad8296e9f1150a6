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

import asyncio
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from . import choice_state, fail, map_, parallel, pass_, succeed, task, wait
from . import recorder as _recorder
from .branch_path import END
from .clock import Clock, DeadlineExceeded, iso_millis, within
from .dataflow import check_size, evaluate_assign, place_result
from .errors import StatesError, StatesErrorName
from .history import dumps, entered, exited
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
from .parallel_resume import Resumed, resume_machine
from .resume import resume_point
from .retry import find_catcher, plan_retry
from .state_context import StateContext
from .task_tokens import TaskTokens
from .tasks import TaskInvoker

if TYPE_CHECKING:
    from .test_state_run import TestStateRun

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
#: each state class's prefix and its Entered and Exited event types
_EVENTS = {cls: (prefix, f"{prefix}StateEntered", f"{prefix}StateExited") for cls, prefix in _PREFIX.items()}
_RETRYABLE = (TaskState, ParallelState, MapState)
#: states whose interruption by StopExecution AWS records as ``<Type>StateAborted``
_ABORTABLE = frozenset({"Task", "Wait", "Parallel", "Map"})


class Engine:
    """Runs one parsed definition; build once per state machine revision, ``run`` per execution."""

    def __init__(
        self,
        definition: Definition,
        *,
        tasks: TaskInvoker | None,
        clock: Clock,
        tokens: TaskTokens | None = None,
    ) -> None:
        self.definition = definition
        self.tasks = tasks
        self.clock = clock
        #: task tokens of ``.waitForTaskToken`` tasks; share one between engines so SendTask* finds them
        self.tokens = tokens if tokens is not None else TaskTokens()

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

    async def resume(
        self, history: Iterable[Any], input: Any, ctx: ExecutionContext, recorder: Recorder
    ) -> Outcome:
        """Continue an interrupted execution from its recorded history (see ``resume.py``).

        ``history`` holds the events recorded so far (HistoryEvent objects, API dicts, or ``(type,
        details)`` pairs); the recorder goes on numbering after them. The machine's TimeoutSeconds
        counts from the execution's original start.
        """
        history = list(history)
        finished = resume_point(self.definition, history, input).finished
        if finished is not None:  # it ended before the stop: nothing to run, not even a timeout
            return Succeeded(finished.output)
        run = _Run(self, ctx, recorder)
        timeout: float | None = self.definition.timeout_seconds
        if timeout is not None and ctx.start_date is not None:
            timeout = max(0.0, timeout - (self.clock.time() - ctx.start_date))
        try:
            result = await within(
                self.clock, timeout, resume_machine(run, self.definition, history, input, {})
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
        testing: TestStateRun | None = None,
    ) -> Transition:
        """Run one top-level state once (TestState): its Retry/Catch apply, the transition is returned.

        ``context`` replaces the whole context object; ``inspection`` (a dict) receives the state's
        data-flow steps under its name (see ``_Run.inspection``); ``testing`` carries the mock and the
        ``stateConfiguration`` (``test_state_run.py``).
        """
        run = _Run(self, ctx, recorder)
        run.inspection = inspection
        run.fixed_context = dict(context) if context is not None else None
        run.testing = testing
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
        #: TestState's mock and stateConfiguration for the state under test (None in executions)
        self.testing: TestStateRun | None = None
        last = getattr(recorder, "last_id", None)
        self._next = (last if isinstance(last, int) else 1) + 1
        self._steps = 0
        #: the top-level variable scope (aborted events are recorded for top-level states only)
        self.top: MutableMapping[str, Any] | None = None
        #: what each state a resume re-enters keeps of its recorded events, by its entered event id
        #: (several at once: each unfinished Parallel branch re-enters one; parallel_resume.py)
        self.resumed: dict[int, Resumed] = {}
        #: the last value written as JSON text, and its text (see ``text``)
        self._last_text: tuple[Any, str] | None = None

    def text(self, value: Any) -> str:
        """``value`` as compact JSON text (``history.dumps``), the last one kept by identity.

        A state's output is the next state's input, and often its own input too (Choice, Succeed),
        so its Exited and the next Entered event carry the same text: written once, used twice. The
        cache holds the value itself, so the identity cannot be taken by another object, and values
        are never changed in place (``jsonpath.set`` copies along its path).
        """
        last = self._last_text
        if last is not None and last[0] is value:
            return last[1]
        text = dumps(value)
        self._last_text = (value, text)
        return text

    def record(self, type: str, details: dict[str, Any] | None = None, checkpoint: str | None = None
               ) -> int | None:
        """``emit`` without a coroutine when the recorder is the service's (which records at once):
        the event's id, or None for any other recorder (then ``await emit``)."""
        recorder = self.recorder
        if isinstance(recorder, _recorder.Recorder):
            return recorder.append(type, details, checkpoint).id
        return None

    async def emit(
        self, type: str, details: dict[str, Any] | None = None, checkpoint: str | None = None
    ) -> int:
        """Record one event; ``checkpoint`` is private resume data the recorder may store beside it
        (a recorder without ``checkpointed`` — silent, TestState, a test's — just drops it)."""
        recorder = self.recorder
        if isinstance(recorder, _recorder.Recorder):  # the service's: records at once (``record``)
            return recorder.append(type, details, checkpoint).id
        last = getattr(recorder, "last_id", None)
        event_id = last + 1 if isinstance(last, int) else self._next
        self._next = event_id + 1
        checkpointed = getattr(self.recorder, "checkpointed", None) if checkpoint is not None else None
        if checkpointed is not None:
            await checkpointed(type, details, checkpoint)
        else:
            await self.recorder.event(type, details)
        return event_id

    async def machine(
        self,
        definition: Definition,
        value: Any,
        variables: MutableMapping[str, Any],
        *,
        start_at: str | None = None,
        entered_id: int | None = None,
    ) -> End | Failed:
        """Run states from StartAt (or ``start_at``, already entered as event ``entered_id``) to the end."""
        name = start_at or definition.start_at
        if self.top is None and definition is self.engine.definition:
            self.top = variables
        while True:
            state = definition.states[name]
            t = await self.state(state, value, variables, entered_id=entered_id)
            entered_id = None
            self._steps += 1
            if self._steps % 64 == 0:  # a Pass/Choice loop must not starve the server's one event loop
                await asyncio.sleep(0)
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

    async def state(
        self, state: State, value: Any, variables: MutableMapping[str, Any], *, entered_id: int | None = None
    ) -> Transition:
        prefix, entered_type, exited_type = _EVENTS[type(state)]
        if entered_id is None:
            details = entered(state.name, value, self.text(value))
            recorded = self.record(entered_type, details)
            event_id = recorded if recorded is not None else await self.emit(entered_type, details)
        else:  # resumed: the Entered event is already in the history
            event_id = entered_id
        # a re-entered state keeps its recorded EnteredTime: a Wait keeps its deadline across restarts
        resumed = self.resumed.pop(entered_id, None) if entered_id is not None else None
        entered_time = self.engine.clock.time()
        if resumed is not None and resumed.entered_time is not None:
            entered_time = resumed.entered_time
        ctx = StateContext(
            resumed=resumed,
            run=self,
            name=state.name,
            entered_event_id=event_id,
            entered_time=entered_time,
            variables=dict(variables) if variables else {},
            counts_retries=isinstance(state, _RETRYABLE),
            scope_variables=variables,
        )
        try:
            t = await self._with_retry(state, value, ctx)
        except asyncio.CancelledError:
            # StopExecution: the state in progress at the top level is recorded as aborted
            if prefix in _ABORTABLE and variables is self.top:
                await self.emit(f"{prefix}StateAborted", None)
            raise
        if isinstance(t, Next | End):
            text = self.text(t.output)
            try:
                check_size(t.output, state.name, text)
            except StatesError as exc:
                return Failed(exc.error, exc.cause)
            # the end of a branch is marked privately beside it (branch_path.py)
            details = exited(state.name, t.output, dict(t.assigned) if t.assigned else None, text)
            end = END if isinstance(t, End) else None
            if self.record(exited_type, details, end) is None:
                await self.emit(exited_type, details, end)
        return t

    async def _with_retry(self, state: State, value: Any, ctx: StateContext) -> Transition:
        testing = self.testing if self.testing is not None and self.testing.is_tested(state.name) else None
        # TestState's retrierRetryCount: the retries that already happened
        attempts = [testing.retrier_retry_count if testing else 0] * len(getattr(state, "retry", ()))
        replay = ctx.resumed.retries if ctx.resumed is not None else None
        if replay is not None and isinstance(state, TaskState):
            await self._replay_retries(state, attempts, ctx, replay[0], in_back_off=replay[1])
        while True:
            t = await self._attempt(state, value, ctx)
            if testing is not None and isinstance(t, Failed):
                testing.last_failure = t
            if not isinstance(t, Failed) or not isinstance(state, _RETRYABLE):
                return t
            plan = plan_retry(state.retry, t.error, attempts)
            if plan is not None:
                attempts[plan[0]] += 1
                ctx.retry_count += 1
                await self.engine.clock.sleep(plan[1])
                continue
            catcher = find_catcher(state.catch, t.error)
            if catcher is not None:
                t = self._caught(state, catcher, t, value, ctx)
            return t

    async def _replay_retries(
        self,
        state: TaskState,
        attempts: list[int],
        ctx: StateContext,
        failures: list[tuple[str, float]],
        *,
        in_back_off: bool,
    ) -> None:
        """Count a resumed Task's recorded failed attempts against its retriers; when it was waiting
        out a back-off, wait only what is left of it (measured from the recorded failure)."""
        delay = 0.0
        for error, _stamp in failures:
            plan = plan_retry(state.retry, error, attempts)
            if plan is None:
                return
            attempts[plan[0]] += 1
            ctx.retry_count += 1
            delay = plan[1]
        if in_back_off and failures:
            left = delay - (self.engine.clock.time() - failures[-1][1])
            if left > 0:
                await self.engine.clock.sleep(left)

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
        # StatesError str()s the name, so a nameless failure (a Fail with no Error) reads "None"
        error_output = StatesError(str(failure.error), failure.cause).to_output()
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


class _Silent:
    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        return None
