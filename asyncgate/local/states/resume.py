"""Where an interrupted execution picks up again, read from its recorded history.

Why from history: the history is what the service commits durably, event by event, and AWS's
history already says everything a resume needs at the top level of the machine — which state was
entered with which input (``*StateEntered``), which states finished with which output and which
variables (``*StateExited`` with ``assignedVariables``). So any execution the service recorded can
be resumed, and the resumed history reads as AWS's would. What AWS's history lacks — a Map
iteration's result, which branch or iteration recorded an event, where a branch ended — the store
keeps privately beside the event (``map_resume.py``, ``branch_path.py``); a Parallel branch or Map
iteration in flight then goes on from its own events by this same rule (``parallel_resume.py``).

The rule:

- the last top-level state that was **entered but not exited** runs again from its recorded input
  (its Entered event is not repeated, and "entered at the event id #N" keeps the recorded id). Its work
  may run twice — a Task that was in flight when the process died is invoked again (at-least-once for
  that one state, as a Retry would);
- when the last top-level event is an **Exited**, the machine continues with the state that follows:
  ``Next``, or the end; a Choice is re-evaluated (it has no side effects) on its recorded input; a
  Task/Parallel/Map whose last recorded work failed continues at the matching Catch's ``Next``;
- variables are the top-level ``assignedVariables`` replayed in order (inner Map/Parallel scopes do
  not leak, as at run time).

Example:
    >>> from .parse import parse_definition
    >>> d = parse_definition({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"},
    ...                                                  "B": {"Type": "Pass", "End": True}}})
    >>> history = [("PassStateEntered", {"name": "A", "input": "1"}),
    ...            ("PassStateExited", {"name": "A", "output": "2"})]
    >>> resume_point(d, history)
    ResumePoint(state='B', value=2, variables={}, entered_event_id=None, finished=None, redecide=False)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import ChoiceState, Definition, End, MapState, ParallelState, TaskState
from .retry import find_catcher

__all__ = ["ResumePoint", "history_items", "recorded_timestamp", "resume_point", "task_failures"]

_CONTAINERS = frozenset({"ParallelStateEntered", "MapStateEntered"})
_CONTAINER_EXITS = frozenset({"ParallelStateExited", "MapStateExited"})
_FAILURES = frozenset(
    {"TaskFailed", "LambdaFunctionFailed", "TaskTimedOut", "LambdaFunctionTimedOut", "EvaluationFailed"}
)
_CONTAINER_SUCCESSES = frozenset({"MapStateSucceeded", "ParallelStateSucceeded"})
_SUCCESSES = frozenset(
    {"TaskSucceeded", "LambdaFunctionSucceeded", "MapStateSucceeded", "ParallelStateSucceeded"}
)


@dataclass(frozen=True, slots=True)
class ResumePoint:
    """Where to continue: run ``state`` on ``value`` (None when the machine already ``finished``)."""

    state: str | None
    value: Any
    variables: dict[str, Any] = field(default_factory=dict)
    #: the recorded id of ``state``'s Entered event when it was entered and not exited
    entered_event_id: int | None = None
    #: the machine's End when its last state had already exited
    finished: End | None = None
    #: ``state`` (a Choice) already exited: decide its Next again without recording anything
    redecide: bool = False


def history_items(history: Iterable[Any]) -> list[tuple[int, str, dict[str, Any]]]:
    """``(id, type, details)`` from HistoryEvent objects, API dicts or ``(type, details)`` pairs.

    Pairs are numbered from 2 (ExecutionStarted is event 1); ExecutionStarted itself is skipped.
    """
    out: list[tuple[int, str, dict[str, Any]]] = []
    for n, item in enumerate(history, start=2):
        if isinstance(item, tuple):
            event_id, (typ, details) = n, item
        elif isinstance(item, Mapping):
            event_id, typ = int(item.get("id", n)), str(item["type"])
            details = next((v for k, v in item.items() if k.endswith("EventDetails")), item.get("details"))
        else:
            event_id, typ, details = int(getattr(item, "id", n)), item.type, item.details
        if typ != "ExecutionStarted":
            out.append((event_id, typ, dict(details or {})))
    return out


def resume_point(definition: Definition, history: Iterable[Any], input: Any = None) -> ResumePoint:
    """The point to resume ``definition`` from, given the execution's history so far and its input."""
    depth = 0
    entered: tuple[str, Any, int] | None = None
    exited: tuple[str, Any] | None = None
    #: the last top-level work result: None (none yet), "" (success), or an error name ("?" unknown)
    outcome: str | None = None
    last_error: str | None = None
    variables: dict[str, Any] = {}
    for event_id, typ, d in history_items(history):
        if typ.endswith("StateEntered"):
            if depth == 0:
                entered, exited, outcome, last_error = (
                    (d["name"], _loads(d.get("input")), event_id),
                    None,
                    None,
                    None,
                )
            if typ in _CONTAINERS:
                depth += 1
        elif typ.endswith("StateExited"):
            if typ in _CONTAINER_EXITS:
                depth -= 1
            if depth == 0:
                exited = (d["name"], _loads(d.get("output")))
                for name, text in (d.get("assignedVariables") or {}).items():
                    variables[name] = _loads(text)
        elif typ in _FAILURES:
            last_error = d.get("error")
            if depth == 0:
                outcome = last_error or "?"
        elif (depth == 0 and typ in _SUCCESSES) or (depth == 1 and typ in _CONTAINER_SUCCESSES):
            outcome = ""
        elif depth == 1 and typ in ("MapStateFailed", "ParallelStateFailed"):
            outcome = last_error or "?"
    if entered is None:
        return ResumePoint(definition.start_at, input, variables)
    name, value, entered_id = entered
    if exited is None or exited[0] != name:
        return ResumePoint(name, value, variables, entered_event_id=entered_id)
    state = definition.states[name]
    output = exited[1]
    if isinstance(state, ChoiceState):
        return ResumePoint(name, value, variables, entered_event_id=entered_id, redecide=True)
    if isinstance(state, TaskState | ParallelState | MapState) and outcome:
        # an unknown error name (a Fail state inside a branch records none) can only be a States.ALL catch
        catcher = (
            find_catcher(state.catch, outcome)
            if outcome != "?"
            else next((c for c in state.catch if "States.ALL" in c.error_equals), None)
        )
        if catcher is not None:
            return ResumePoint(catcher.next, output, variables)
    if state.next is not None:
        return ResumePoint(state.next, output, variables)
    return ResumePoint(None, output, variables, finished=End(output))


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def recorded_timestamp(history: Iterable[Any], event_id: int | None) -> float | None:
    """The recorded timestamp of event ``event_id`` (HistoryEvent objects or API dicts), if any."""
    if event_id is None:
        return None
    for item in history:
        if isinstance(item, Mapping):
            if item.get("id") == event_id and isinstance(item.get("timestamp"), int | float):
                return float(item["timestamp"])
        elif getattr(item, "id", None) == event_id:
            stamp = getattr(item, "timestamp", None)
            return float(stamp) if isinstance(stamp, int | float) else None
    return None


_TASK_FAILURES = frozenset({
    "TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed", "LambdaFunctionFailed",
    "LambdaFunctionTimedOut", "LambdaFunctionStartFailed", "LambdaFunctionScheduleFailed",
})


def task_failures(history: Iterable[Any], entered_id: int) -> tuple[list[tuple[str, float]], bool]:
    """A resumed Task's failed attempts after its Entered event, and whether the last event was one
    (it was waiting out a Retry back-off when the process stopped)."""
    failures: list[tuple[str, float]] = []
    last_failed = False
    for item in history:
        mapping = isinstance(item, Mapping)
        event_id = item.get("id") if mapping else getattr(item, "id", None)
        if not isinstance(event_id, int) or event_id <= entered_id:
            continue
        typ = item.get("type") if mapping else getattr(item, "type", None)
        last_failed = typ in _TASK_FAILURES
        if last_failed:
            details = (next((v for k, v in item.items() if k.endswith("EventDetails")), None)
                       if mapping else getattr(item, "details", None)) or {}
            stamp = item.get("timestamp") if mapping else getattr(item, "timestamp", 0.0)
            failures.append((str(details.get("error", "")), float(stamp or 0.0)))
    return failures, last_failed
