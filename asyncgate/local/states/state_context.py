"""What a state module sees while it runs: ``StateContext``.

One is built per state entry by the engine. It gives the module its scope (``$``, ``$$``, variables),
the clock, the TaskInvoker, the recorder, and a way to run nested machines (Parallel branches, Map
iterations) in a child variable scope. Kept apart from ``engine.py`` so the state modules depend on
this small surface, not on the engine's loop.

Example:
    >>> StateContext.__slots__[:3]
    ('run', 'name', 'entered_event_id')
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .branch_path import inside
from .clock import Clock, iso_millis
from .errors import StatesError, StatesErrorName
from .model import Definition, End, Failed
from .parallel_resume import resume_machine
from .scope import Scope
from .tasks import TaskInvoker
from .test_state_run import CONTEXT_STATE_NAME

if TYPE_CHECKING:
    from .engine import _Run
    from .map_resume import MapProgress
    from .parallel_resume import ParallelProgress, Resumed

__all__ = ["StateContext"]

_PREFIXED_ERRORS = frozenset({StatesErrorName.RUNTIME.value, StatesErrorName.QUERY_EVALUATION_ERROR.value})


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
    #: ``$$.Task.Token`` of a ``.waitForTaskToken`` task
    task_token: str | None = None
    #: what this state, re-entered by a resume, keeps of its recorded events (parallel_resume.py)
    resumed: Resumed | None = None
    #: the context object built last, for (retry_count, task_token): see ``context``
    _context: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _context_key: tuple[int, str | None] = field(default=(0, None), init=False, repr=False)

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
        """The context object (``$$``) for this state.

        Every expression scope of the state carries it (a Pass builds three), so it is built once
        and built again only when what it shows changes (``RetryCount``, ``$$.Task.Token``). Like
        every value the engine passes around, it is never changed in place; ``extra`` gives a copy.
        """
        if self.run.fixed_context is not None:
            return {**self.run.fixed_context, **(extra or {})}
        key = (self.retry_count, self.task_token)
        out = self._context
        if out is None or key != self._context_key:
            out = self._context = self._build_context()
            self._context_key = key
        if extra:
            out = dict(out)
            out.update(extra)
        return out

    def _build_context(self) -> dict[str, Any]:
        testing = self.run.testing
        # TestState names the state under test "StateName" whatever its name in the definition
        name = CONTEXT_STATE_NAME if testing is not None and testing.is_tested(self.name) else self.name
        state: dict[str, Any] = {"Name": name, "EnteredTime": iso_millis(self.entered_time)}
        if self.counts_retries:
            state["RetryCount"] = self.retry_count
        out = dict(self.run.base_context)
        out["State"] = state
        if self.task_token is not None:
            out["Task"] = {"Token": self.task_token}
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

    async def emit(
        self, type: str, details: dict[str, Any] | None = None, checkpoint: str | None = None
    ) -> int:
        """Record one history event (with private resume data ``checkpoint``); returns its id."""
        event_id = self.run.record(type, details, checkpoint)
        if event_id is not None:
            return event_id
        return await self.run.emit(type, details, checkpoint)

    def failed(self, exc: StatesError) -> Failed:
        """A Failed transition; data-flow errors get AWS's "An error occurred while ..." prefix.

        Not under TestState, which has no history to point into (recorded: its States.Runtime causes
        are the bare message).
        """
        cause = exc.cause
        prefixed = exc.error in _PREFIXED_ERRORS and self.run.testing is None
        if prefixed and cause is not None and not cause.startswith("An error occurred"):
            cause = (
                f"An error occurred while executing the state '{self.name}' (entered at the event id "
                f"#{self.entered_event_id}). {cause}"
            )
        return Failed(exc.error, cause)

    def take_progress(self) -> MapProgress | ParallelProgress | None:
        """A resumed Map's or Parallel's recorded progress, for its first attempt only."""
        if self.resumed is None:
            return None
        progress, self.resumed.progress = self.resumed.progress, None
        return progress

    async def run_branch(
        self,
        definition: Definition,
        value: Any,
        *,
        silent: bool = False,
        index: int | None = None,
        resume: list[Any] | None = None,
    ) -> End | Failed:
        """Run a Parallel branch or a Map iteration in a child variable scope (outer ones read-only).

        ``silent``: the events go nowhere (a Distributed Map's child executions have their own history).
        ``index``: the branch's (iteration's) index; the events it records are tagged with it and this
        state's entered id (``branch_path.py``). ``resume``: its recorded events, to go on from them
        (``parallel_resume.resume_machine``) instead of from its StartAt.
        """
        outer = self.scope_variables
        child: MutableMapping[str, Any] = ChainMap({}, dict(outer) if outer else {})
        if silent:
            from .engine import _Run, _Silent

            return await _Run(self.run.engine, self.run.ctx, _Silent()).machine(definition, value, child)
        if index is None:
            return await self.run.machine(definition, value, child)
        with inside((self.entered_event_id, index)):
            if resume:
                return await resume_machine(self.run, definition, resume, value, child)
            return await self.run.machine(definition, value, child)
