"""The one place the service meets the engine: build it once per revision, run it, map its outcome.

Why a port: the engine (``engine.py``, ``tasks.py``) is written in parallel with the service; its
exact names are confined here so the service depends on a single function,
``EnginePort.run(execution, input_value, recorder) -> Outcome``.

Engine contract (``docs/contracts.md``): ``Engine(definition, tasks=TaskInvoker, clock=Clock)``;
``await engine.run(input, ctx, recorder)`` returns ``Succeeded(output) | Failed(error, cause) |
TimedOut | Aborted``; the engine records every event between ``ExecutionStarted`` and the terminal
event, the service records those two.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ..deadlines import Deadlines
from . import engine as eng
from .clock import Clock, iso_millis
from .engine import Engine, ExecutionContext
from .executions import EXPRESS_MAX_SECONDS, Execution, ExecutionKind, ExecutionStatus, Outcome, dumps
from .machines import Revision
from .recorder import Recorder
from .task_tokens import TaskTokens

__all__ = ["EnginePort"]

log = logging.getLogger("asyncgate.states")


class Definitions(Protocol):
    """Where the port gets a revision's parsed definition: the ``MachineRegistry``, or the Express
    worker's own cache (``express_worker/child.py``)."""

    def compiled(self, revision: Revision) -> Any: ...


class EnginePort:
    """Runs executions on the engine; engines are built once per revision and reused."""

    def __init__(self, registry: Definitions, tasks: Any, clock: Clock,
                 tokens: TaskTokens | None = None) -> None:
        self._registry = registry
        self._tasks = tasks
        self._clock = clock
        #: one TaskTokens for every engine, so SendTask* finds a token whatever revision issued it
        self.tokens = tokens if tokens is not None else TaskTokens()
        self._engines: dict[str, Any] = {}
        #: wall seconds per clock second (a ScaledClock runs faster)
        self._scale = float(getattr(clock, "scale", 1.0))
        #: the Express five-minute limit, one timer for every running execution (``deadlines.py``)
        self._express_limit = Deadlines(EXPRESS_MAX_SECONDS / self._scale)

    def engine(self, revision: Revision) -> Any:
        """The engine for a revision (its definition parsed once, by the registry)."""
        engine = self._engines.get(revision.revision_id)
        if engine is None:
            definition = self._registry.compiled(revision)
            engine = Engine(definition, tasks=self._tasks, clock=self._clock, tokens=self.tokens)
            self._engines[revision.revision_id] = engine
        return engine

    @staticmethod
    def context(execution: Execution, value: Any) -> Any:
        """The engine's ExecutionContext: the context object's Execution and StateMachine parts."""
        return ExecutionContext(
            execution_arn=execution.arn,
            execution_name=execution.name,
            state_machine_arn=execution.machine.arn,
            state_machine_name=execution.machine.name,
            start_time=iso_millis(execution.start_date),
            start_date=execution.start_date,
            role_arn=execution.revision.role_arn,
            input=value,
        )

    @property
    def can_resume(self) -> bool:
        """Whether the engine can continue an interrupted execution from its history."""
        return hasattr(Engine, "resume")

    def reissue_token(self, execution: Execution, value: Any, history: list[Any]) -> None:
        """Before a resumed execution runs, issue again every token its waiting Tasks had handed out.

        The engine issues them itself when it re-enters each Task, but a SendTaskSuccess may arrive
        between the server being ready and that step (for a Task inside a Parallel branch or a Map
        iteration, several steps in); issued now, the answer is kept for the Task to pick up. These
        are the waiting Tasks at the top level and in every unfinished branch and iteration, with the
        keys the resumed Tasks will use (``parallel_resume.waiting_tokens``). ``value``, the
        execution's input, plays no part: only Tasks already entered had handed out a token.
        """
        from .parallel_resume import waiting_tokens

        definition = self.engine(execution.revision).definition
        for state_name, key in waiting_tokens(definition, history):
            self.tokens.issue(execution.arn, state_name, key=key)

    async def run(self, execution: Execution, value: Any, recorder: Recorder,
                  history: list[Any] | None = None) -> Outcome:
        """Run to the end (or, given its ``history``, continue it) and map the engine's outcome.

        The Express five-minute limit applies here; the machine's TimeoutSeconds in the engine.
        """
        engine = self.engine(execution.revision)
        ctx = self.context(execution, value)
        if execution.kind is ExecutionKind.STANDARD:  # its only limit is the machine's TimeoutSeconds
            result = await self._drive(engine, value, ctx, recorder, history)
            return _outcome(result, eng)
        try:
            async with self._express_limit:
                result = await self._drive(engine, value, ctx, recorder, history)
        except TimeoutError:
            return Outcome(ExecutionStatus.TIMED_OUT, error="States.Timeout",
                           cause="The execution exceeded the five-minute limit of Express workflows.")
        return _outcome(result, eng)

    @staticmethod
    async def _drive(engine: Any, value: Any, ctx: Any, recorder: Recorder, history: list[Any] | None) -> Any:
        if history is None:
            return await engine.run(value, ctx, recorder)
        return await engine.resume(history, value, ctx, recorder)


def _outcome(result: Any, eng: Any) -> Outcome:
    if isinstance(result, eng.Succeeded):
        return Outcome(ExecutionStatus.SUCCEEDED, output=dumps(result.output))
    if isinstance(result, eng.Failed):
        return Outcome(ExecutionStatus.FAILED, error=result.error, cause=result.cause)
    if isinstance(result, eng.TimedOut):
        return Outcome(ExecutionStatus.TIMED_OUT, error=getattr(result, "error", "States.Timeout"),
                       cause=getattr(result, "cause", None))
    return Outcome(ExecutionStatus.ABORTED, error=getattr(result, "error", None),
                   cause=getattr(result, "cause", None))
