"""What a resumed Parallel keeps of the attempt a crash interrupted, and how any machine (the
execution's, a Parallel branch's, a Map iteration's) goes on from its recorded events.

Why: AWS's history has no per-branch end event and its branches' events interleave, so re-running
an interrupted Parallel as a whole would repeat finished branches and write their events twice. The
recorder tags every event recorded inside a branch with that branch, and the ``*StateExited`` that
ends a branch with an end mark, in the same commit (``branch_path.py``). A resume then splits the
Parallel's events by branch:

- a branch whose end is recorded is not run again: its output is that ``*StateExited``'s output;
- any other branch goes on from its own recorded events exactly as the execution does from its
  history (``resume_machine``, which ``Engine.resume`` uses too): the states it finished are not
  repeated, the one in flight runs again without a second Entered event (at-least-once for that one
  state: a Task in flight is invoked again), nested Parallels and Maps in flight resume the same way;
- the Parallel's own events (``ParallelStateStarted``, ``ParallelStateSucceeded``) are not repeated,
  and a recorded ``ParallelStateFailed`` carries the failure privately, so the attempt ends with it.

If the failing branch's last event is recorded but not ``ParallelStateFailed`` (a crash in between),
that branch's state in flight runs again, by the same rule. Only the current attempt counts (the
events after the Parallel's last own ``ParallelStateStarted``: a Retry starts a new one). A history
recorded without branch tags (before they existed) has branch events at the Parallel's own level;
then its branches run again from their start (their events appear twice), and only the Parallel's
``ParallelStateStarted`` is not recorded again.

Example:
    >>> from .recorder import HistoryEvent as E
    >>> p = parallel_progress([E(2, 1, 0, "ParallelStateEntered", {"name": "P"}),
    ...                        E(3, 2, 0, "ParallelStateStarted"),
    ...                        E(4, 3, 0, "PassStateEntered", {"name": "A"}, '{"in":[[2,0]]}'),
    ...                        E(5, 4, 0, "WaitStateEntered", {"name": "W"}, '{"in":[[2,1]]}'),
    ...                        E(6, 5, 0, "PassStateExited", {"name": "A", "output": "1"},
    ...                          '{"in":[[2,0]],"end":true}')], 2)
    >>> p.finished, sorted(p.branches), sorted(p.recorded)
    ({0: 1}, [0, 1], ['ParallelStateStarted'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .branch_path import Key, is_end, path_of
from .map_resume import MapProgress, map_progress
from .map_resume import _fields as fields
from .model import Definition, End, Failed, MapState, Next, ParallelState, State, TaskState
from .resume import recorded_timestamp, resume_point, task_failures
from .retry import plan_retry

if TYPE_CHECKING:
    from .engine import _Run

__all__ = [
    "ParallelProgress", "Resumed", "by_branch", "parallel_progress", "resume_machine", "resumed_state",
    "waiting_tokens",
]

_PARALLEL_LEVEL = frozenset({"ParallelStateStarted", "ParallelStateSucceeded", "ParallelStateFailed"})


@dataclass(slots=True)
class ParallelProgress:
    """The recorded part of a Parallel attempt: what a resume must neither redo nor record again."""

    #: branch index -> the finished branch's output
    finished: dict[int, Any] = field(default_factory=dict)
    #: branch index -> the branch's recorded events (each branch goes on from its own)
    branches: dict[int, list[Any]] = field(default_factory=dict)
    #: the Parallel-level event types already recorded for this attempt
    recorded: set[str] = field(default_factory=set)
    #: the attempt's failure, when its ``ParallelStateFailed`` is recorded
    failure: Failed | None = None


@dataclass(slots=True)
class Resumed:
    """What the state a resume re-enters takes from its recorded events (by its first attempt)."""

    #: its recorded EnteredTime (a Wait keeps its deadline)
    entered_time: float | None = None
    #: a Task's recorded failed attempts (error, timestamp), and whether it was in a Retry back-off
    retries: tuple[list[tuple[str, float]], bool] | None = None
    #: a Map's or Parallel's recorded progress (None once its first attempt took it)
    progress: MapProgress | ParallelProgress | None = None


def parallel_progress(history: Iterable[Any], entered_id: int) -> ParallelProgress | None:
    """The progress of the Parallel entered as event ``entered_id``; None when its attempt never
    started (see the module's docstring for histories recorded without branch tags)."""
    progress: ParallelProgress | None = None
    parent: tuple[Key, ...] = ()
    for item in history:
        event_id, typ, details, saved = fields(item)
        if event_id < entered_id:
            continue
        path = path_of(saved)
        if event_id == entered_id:
            parent = path
            continue
        if path == parent:  # the Parallel's own event (nothing else runs at its level meanwhile)
            if typ == "ParallelStateStarted":
                progress = ParallelProgress()
            elif typ.endswith(("StateEntered", "StateExited")) and progress is not None:
                # a branch's event without its tag (recorded before branch tags): the branches run
                # again, only the start of the attempt is known for sure
                return ParallelProgress(recorded={"ParallelStateStarted"})
            if progress is not None and typ in _PARALLEL_LEVEL:
                progress.recorded.add(typ)
                if typ == "ParallelStateFailed" and saved is not None:
                    data = json.loads(saved)
                    progress.failure = Failed(data.get("error"), data.get("cause"))
            continue
        depth = len(parent)
        if progress is None or path[:depth] != parent or len(path) <= depth or path[depth][0] != entered_id:
            continue
        index = path[depth][1]
        progress.branches.setdefault(index, []).append(item)
        if len(path) == depth + 1 and is_end(saved):
            progress.finished[index] = _loads(details.get("output"))
    return progress


def by_branch(history: Iterable[Any], entered_id: int) -> dict[int, list[Any]]:
    """index -> the events recorded inside branch (or iteration) ``(entered_id, index)``, at any
    depth, in order (one pass over ``history``)."""
    out: dict[int, list[Any]] = {}
    for item in history:
        index = next((i for e, i in path_of(fields(item)[3]) if e == entered_id), None)
        if index is not None:
            out.setdefault(index, []).append(item)
    return out


def resumed_state(state: State, history: list[Any], entered_id: int) -> Resumed:
    """What the state entered as ``entered_id`` and not exited keeps when a resume re-enters it."""
    resumed = Resumed(entered_time=recorded_timestamp(history, entered_id))
    if isinstance(state, TaskState):
        # its failed attempts count against its Retry, and a back-off in progress keeps its deadline
        resumed.retries = task_failures(history, entered_id)
    elif isinstance(state, MapState):  # its finished iterations are reused: map_resume.py
        resumed.progress = map_progress(history, entered_id)
    elif isinstance(state, ParallelState):  # its finished branches are reused
        resumed.progress = parallel_progress(history, entered_id)
    return resumed


async def resume_machine(
    run: _Run, definition: Definition, history: Iterable[Any], value: Any, variables: MutableMapping[str, Any]
) -> End | Failed:
    """Go on with ``definition`` from its recorded ``history`` (``resume.py``'s rule), ``value`` being
    the machine's input; the variables its finished states assigned are replayed into ``variables``.
    """
    history = list(history)
    point = resume_point(definition, history, value)
    if point.finished is not None:
        return point.finished
    variables.update(point.variables)
    assert point.state is not None
    start, value, entered_id = point.state, point.value, point.entered_event_id
    if point.redecide:  # a Choice that already exited: decide again, silently
        quiet = type(run)(run.engine, run.ctx, _Quiet())
        t = await quiet.state(definition.states[start], value, dict(variables), entered_id=entered_id)
        if not isinstance(t, Next):
            return t if isinstance(t, Failed) else End(t.output)
        start, value, entered_id = t.name, t.output, None
    elif entered_id is not None:
        run.resumed[entered_id] = resumed_state(definition.states[start], history, entered_id)
    return await run.machine(definition, value, variables, start_at=start, entered_id=entered_id)


def waiting_tokens(definition: Definition, history: Iterable[Any]) -> Iterator[tuple[str, str]]:
    """``(state name, token key)`` of every ``.waitForTaskToken`` Task a resume of ``definition`` from
    ``history`` re-enters: its state in flight and, inside a Parallel or Map in flight, the state in
    flight of each unfinished branch and iteration, at any depth.

    Why: ``EnginePort.reissue_token`` issues these tokens before the resumed execution takes a step,
    so a SendTaskSuccess that arrives first is kept, not refused. They must be the tokens the resumed
    Tasks will issue (``task.py``: ``"<entered id>.<retry count>"``), so this walks the history as the
    resume does: the same resume point, the same split by branch (``parallel_progress``, the Map's
    ``map_progress`` and ``by_branch``), the same count of replayed failures (``Engine._replay_retries``).
    """
    history = list(history)
    point = resume_point(definition, history)
    entered = point.entered_event_id
    if point.state is None or entered is None or point.redecide:
        return  # finished, or the next state is not entered yet: no token was handed out
    state = definition.states[point.state]
    if isinstance(state, TaskState) and state.resource.endswith(".waitForTaskToken"):
        failures, in_back_off = task_failures(history, entered)
        if not in_back_off:  # in a Retry back-off, the next attempt has handed out no token yet
            yield state.name, f"{entered}.{_replayed(state, failures)}"
    elif isinstance(state, ParallelState):
        progress = parallel_progress(history, entered)
        if progress is None or progress.failure is not None:
            return
        for index, events in progress.branches.items():
            if index not in progress.finished and index < len(state.branches):
                yield from waiting_tokens(state.branches[index], events)
    elif isinstance(state, MapState) and state.mode != "DISTRIBUTED":  # child executions: no events here
        started = map_progress(history, entered)
        if started is None:
            return
        for index, events in by_branch(started.events, entered).items():
            if index in started.started and index not in started.finished:
                yield from waiting_tokens(state.processor, events)


def _replayed(state: TaskState, failures: list[tuple[str, float]]) -> int:
    """The retry count a resumed Task starts from: its recorded failures that a retrier took."""
    attempts = [0] * len(state.retry)
    for count, (error, _stamp) in enumerate(failures):
        plan = plan_retry(state.retry, error, attempts)
        if plan is None:
            return count
        attempts[plan[0]] += 1
    return len(failures)


def _loads(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


class _Quiet:
    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        return None
