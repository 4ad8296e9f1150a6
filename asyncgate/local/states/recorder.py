"""History events and the recorder the engine writes them through.

Why here and not in the engine: the engine only says *what* happened (``await recorder.event(type,
details)``); the service decides *where* it goes. A Standard execution persists every event in the
store (GetExecutionHistory, restarts); an Express one keeps nothing and only vends to CloudWatch Logs;
a sync Express one also collects nothing. The recorder assigns what AWS assigns: ``id`` (1, 2, ...),
``previousEventId`` and ``timestamp``.

``details`` is the event's own details object (``{"name": "Pass", "input": "{}", ...}``); its member
name in GetExecutionHistory is derived from the type as AWS names it: ``PassStateEntered`` ->
``stateEnteredEventDetails``, ``TaskScheduled`` -> ``taskScheduledEventDetails``.

Example:
    >>> details_key("WaitStateExited"), details_key("LambdaFunctionSucceeded")
    ('stateExitedEventDetails', 'lambdaFunctionSucceededEventDetails')
    >>> HistoryEvent(2, 1, 0.0, "PassStateEntered", {"name": "P", "input": "{}"}).to_api()["id"]
    2
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .branch_path import stamp

__all__ = ["HistoryEvent", "Recorder", "details_key", "strip_data"]

#: members that carry execution data, left out when includeExecutionData is false
_DATA_KEYS = frozenset({"input", "output", "inputDetails", "outputDetails", "parameters"})


@lru_cache(maxsize=256)
def details_key(event_type: str) -> str:
    """The HistoryEvent member that holds the details of ``event_type``.

    The engine's ``history.details_key`` knows AWS's exceptions; this falls back to AWS's rule for
    events it calls detail-less but that carry details here (``ExecutionAborted`` with a cause).
    """
    try:
        from .history import details_key as engine_key

        known = engine_key(event_type)
        if known is not None:
            return known
    except ImportError:  # the engine's module is optional for this one
        pass
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


def strip_data(details: dict[str, Any]) -> dict[str, Any]:
    """``details`` without execution data (input, output, parameters).

    Example:
        >>> strip_data({"name": "P", "input": "{}", "inputDetails": {"truncated": False}})
        {'name': 'P'}
    """
    return {k: v for k, v in details.items() if k not in _DATA_KEYS}


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event of an execution's history, as AWS numbers and stamps it."""

    id: int
    previous_event_id: int
    #: epoch seconds
    timestamp: float
    type: str
    details: dict[str, Any] | None = None
    #: private resume data stored beside the event (``sfn_checkpoints``), never in GetExecutionHistory:
    #: a Map iteration's result, which AWS's history does not carry but a resume must reuse, and the
    #: branch the event was recorded in (``branch_path.py``)
    checkpoint: str | None = None

    def to_api(self, *, include_data: bool = True) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it."""
        out: dict[str, Any] = {
            "timestamp": self.timestamp,
            "type": self.type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        if self.details is not None:
            out[details_key(self.type)] = self.details if include_data else strip_data(self.details)
        return out


Sink = Callable[[HistoryEvent], None]


class Recorder:
    """The engine's recorder: numbers, stamps and fans each event out to the execution's sinks.

    ``sinks`` are plain synchronous callables that must not block (queue a store write, buffer a
    log line). ``last_id`` lets a resumed execution continue its numbering.
    """

    __slots__ = ("_clock", "_last", "_sinks")

    def __init__(self, clock: Callable[[], float], sinks: Sequence[Sink], *, last_id: int = 0) -> None:
        self._clock = clock
        self._sinks = tuple(sinks)
        self._last = last_id

    def mute(self) -> None:
        """Record nothing more: a shutdown cuts executions off without ending them (recovery resumes
        or re-runs them), so what the engine reports while unwinding (``*StateAborted``) is dropped."""
        self._sinks = ()

    @property
    def last_id(self) -> int:
        """The id of the last event recorded."""
        return self._last

    async def event(self, type: str, details: dict[str, Any] | None = None) -> None:
        """The engine's protocol: record one event."""
        self.append(type, details)

    async def checkpointed(self, type: str, details: dict[str, Any] | None, checkpoint: str) -> None:
        """Record one event with private resume data that the store writes in the same commit."""
        self.append(type, details, checkpoint)

    def append(
        self, type: str, details: dict[str, Any] | None = None, checkpoint: str | None = None
    ) -> HistoryEvent:
        """Record one event now and return it (tagged with the branch that records it, if any)."""
        previous = self._last
        self._last = previous + 1
        event = HistoryEvent(self._last, previous, self._clock(), type, details, stamp(checkpoint))
        for sink in self._sinks:
            sink(event)
        return event
