"""What a resumed (inline) Map keeps of the attempt a crash interrupted.

Why: AWS's history says which iterations started and finished (``MapIterationStarted`` /
``MapIterationSucceeded`` / ``MapIterationFailed`` with their index) but not what they returned, so
re-running the Map as a whole would repeat finished iterations and write their events twice. Each
finishing iteration's result is therefore written privately beside its event (``sfn_checkpoints``,
same commit; see ``executions.insert_event``), and a resume reads both back:

- an iteration with a recorded end *and* a checkpoint is not run again; its result is reused;
- an iteration recorded as started but not ended goes on from its own recorded events (each is
  tagged with its iteration, ``branch_path.py``) without a second ``MapIterationStarted``: the states
  it finished are not run again, the one in flight runs again (at-least-once for that one state, as
  for the top-level state a resume re-enters; ``parallel_resume.resume_machine``);
- the Map's own recorded events (``MapStateStarted``, ``MapStateSucceeded``...) are not repeated.

Only events of the Map's current attempt count (after its last own ``MapStateStarted``: a Retry
starts a new attempt); events of Maps nested in its iterations are told apart as ``map_progress`` says.

Example:
    >>> from .recorder import HistoryEvent as E
    >>> it = lambda i, typ, n, *c: E(i, i - 1, 0, f"MapIteration{typ}", {"name": "M", "index": n}, *c)
    >>> p = map_progress([E(2, 1, 0, "MapStateEntered", {"name": "M"}), E(3, 2, 0, "MapStateStarted"),
    ...                   it(4, "Started", 0), it(5, "Started", 1),
    ...                   it(6, "Succeeded", 0, checkpoint('"a"'))], 2)
    >>> p.started, p.finished, sorted(p.recorded)
    ({0, 1}, {0: 'a'}, ['MapStateStarted'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .model import Failed

__all__ = ["MapProgress", "checkpoint", "failure_checkpoint", "map_progress"]

_ITERATION_ENDS = frozenset({"MapIterationSucceeded", "MapIterationFailed"})
_MAP_LEVEL = frozenset({"MapStateStarted", "MapRunStarted", "MapStateSucceeded", "MapStateFailed",
                        "MapRunSucceeded", "MapRunFailed"})


@dataclass(slots=True)
class MapProgress:
    """The recorded part of a Map attempt: what a resume must neither redo nor record again."""

    #: indexes whose ``MapIterationStarted`` is recorded
    started: set[int] = field(default_factory=set)
    #: index -> the finished iteration's result (its output, or Failed)
    finished: dict[int, Any] = field(default_factory=dict)
    #: the Map-level event types already recorded for this attempt
    recorded: set[str] = field(default_factory=set)
    #: the attempt's events after its ``MapStateStarted`` (an open iteration resumes from its own)
    events: list[Any] = field(default_factory=list)


def checkpoint(output_json: str) -> str:
    """The checkpoint of a succeeded iteration whose output is the JSON text ``output_json``."""
    return '{"output":' + output_json + "}"


def failure_checkpoint(failure: Failed) -> str:
    """The checkpoint of a failed iteration (kept when the Map tolerates failures)."""
    return json.dumps({"error": failure.error, "cause": failure.cause}, ensure_ascii=False)


def _result(text: str) -> Any:
    data = json.loads(text)
    if "output" in data:
        return data["output"]
    return Failed(data.get("error"), data.get("cause"))


def map_progress(history: Iterable[Any], entered_id: int) -> MapProgress | None:
    """The progress of the Map entered as event ``entered_id``; None when its attempt never started.

    Iterations run concurrently, so their events interleave and nesting depth says nothing: an
    iteration event is this Map's when it carries its name (state names are unique in a machine), and
    a Map-level event is this Map's when none of its iterations is open (a nested Map only runs, and
    records, inside an open iteration).
    """
    progress: MapProgress | None = None
    name: Any = None
    open_: set[int] = set()
    for item in history:
        event_id, typ, details, saved = _fields(item)
        if event_id < entered_id:
            continue
        if event_id == entered_id:
            name = details.get("name")
            continue
        if progress is not None:
            progress.events.append(item)
        if typ in _MAP_LEVEL and not open_:
            if typ == "MapStateStarted":  # a new attempt (a Retry runs the Map again from scratch)
                progress = MapProgress()
            if progress is not None:
                progress.recorded.add(typ)
            continue
        index = details.get("index")
        if progress is None or not typ.startswith("MapIteration") or details.get("name") != name:
            continue
        if not isinstance(index, int):
            continue
        if typ == "MapIterationStarted":
            progress.started.add(index)
            open_.add(index)
            continue
        open_.discard(index)
        if typ in _ITERATION_ENDS and saved is not None:
            progress.finished[index] = _result(saved)
    return progress


def _fields(item: Any) -> tuple[int, str, dict[str, Any], str | None]:
    """``(id, type, details, checkpoint)`` of a HistoryEvent or an API-shaped dict (pairs carry no id
    and are skipped)."""
    if isinstance(item, tuple):
        return 0, "", {}, None
    if isinstance(item, Mapping):
        details = next((v for k, v in item.items() if k.endswith("EventDetails")), item.get("details"))
        return int(item.get("id", 0)), str(item.get("type")), dict(details or {}), item.get("checkpoint")
    details = getattr(item, "details", None)
    return int(item.id), str(item.type), dict(details or {}), getattr(item, "checkpoint", None)
