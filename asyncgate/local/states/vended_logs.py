"""History events vended to CloudWatch Logs, in the shape Step Functions writes them.

Why: an Express workflow's only history is its log group (AWS keeps none in the service), and the
seed's machine logs ``LogLevel.ALL`` with execution data to ``/aws/vendedlogs/states/sample``. Each
event becomes one log event whose message is a JSON document::

    {"id": "1", "type": "ExecutionStarted",
     "details": {"input": "{}", "inputDetails": {"truncated": false}, "roleArn": "arn:..."},
     "previous_event_id": "0", "event_timestamp": "1700000000000",
     "execution_arn": "arn:aws:states:...:express:machine:name:uuid"}

ids and the timestamp are strings (epoch milliseconds), as AWS writes them. Without
``includeExecutionData`` the ``input``/``output`` members (and their ``*Details``) are left out.
``ERROR`` logs only failure events, ``FATAL`` only the execution's own failure events
(Step Functions' "Log levels" page).

Streams are named as AWS names them, ``states/<machine>/<yyyy-mm-dd-hh-mm>/<8 hex>``: one per
machine per minute per server run.

Writes never block an execution: events are buffered and handed to ``Logs.put`` (itself a
fire-and-forget group-commit write) in batches, at the latest ``flush_delay`` seconds later, and at
the end of the event-loop iteration in which an execution ends (so the executions that end together
share one write, and a reader that saw an execution end finds its last event soon after).

Example:
    >>> from asyncgate.local.states.recorder import HistoryEvent
    >>> e = HistoryEvent(1, 0, 1_700_000_000.0, "ExecutionStarted", {"input": "{}", "roleArn": "r"})
    >>> log_message(e, "arn:x", include_data=False)
    '{"id":"1","type":"ExecutionStarted","details":{"roleArn":"r"},"previous_event_id":"0","event_timestamp":"1700000000000","execution_arn":"arn:x"}'
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..jsontext import compact
from .machines import LoggingConfig, LogLevel
from .recorder import HistoryEvent, strip_data

__all__ = ["LogSession", "VendedLogs", "log_message", "vended_types"]

#: Step Functions' ERROR level: failure events of executions, states, tasks, Lambdas, Map and Parallel.
_ERROR_TYPES = frozenset({
    "ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut", "FailStateEntered",
    "LambdaFunctionFailed", "LambdaFunctionScheduleFailed", "LambdaFunctionStartFailed",
    "LambdaFunctionTimedOut", "MapStateAborted", "MapStateFailed", "MapIterationAborted",
    "MapIterationFailed", "MapRunAborted", "MapRunFailed", "ParallelStateAborted",
    "ParallelStateFailed", "TaskFailed", "TaskStartFailed", "TaskStateAborted", "TaskSubmitFailed",
    "TaskTimedOut", "WaitStateAborted", "EvaluationFailed", "ActivityFailed",
    "ActivityScheduleFailed", "ActivityTimedOut",
})
_FATAL_TYPES = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
_TERMINAL = _FATAL_TYPES | {"ExecutionSucceeded"}
#: one encoder for every message (``jsontext.compact``: the C encoder is built once)
_encode = compact
#: CloudWatch Logs truncates an escaped input/output above 248 KB (Step Functions logging guide).
_TRUNCATE_AT = 248 * 1024
#: a text this long or shorter (in characters) is under the limit whatever its UTF-8 length (<= 4 x)
_QUARTER = _TRUNCATE_AT // 4


def vended_types(level: LogLevel) -> frozenset[str] | None:
    """The event types ``level`` vends (None: every type). A session looks it up once; each event is
    then one set lookup (reading an enum member off its class costs a descriptor call on 3.11).

    Example:
        >>> "TaskFailed" in vended_types(LogLevel.ERROR), "TaskSucceeded" in vended_types(LogLevel.ERROR)
        (True, False)
        >>> vended_types(LogLevel.ALL) is None, vended_types(LogLevel.OFF)
        (True, frozenset())
    """
    return _WANTED.get(level, _NONE)


_NONE: frozenset[str] = frozenset()
#: the event types each level vends (None: all of them; a level absent here, OFF: none)
_WANTED: dict[LogLevel, frozenset[str] | None] = {
    LogLevel.ALL: None,
    LogLevel.ERROR: _ERROR_TYPES,
    LogLevel.FATAL: _FATAL_TYPES,
}


def _truncate(details: dict[str, Any]) -> dict[str, Any]:
    try:  # nearly every event is far below the limit: two lengths say so
        if len(details.get("input") or "") <= _QUARTER and len(details.get("output") or "") <= _QUARTER:
            return details
    except TypeError:  # not text: nothing to cut
        return details
    out = details  # copied only when something is cut
    for key in ("input", "output"):
        value = details.get(key)
        if isinstance(value, str) and len(value) > _QUARTER and len(value.encode()) > _TRUNCATE_AT:
            if out is details:
                out = dict(details)
            out[key] = value.encode()[:_TRUNCATE_AT].decode("utf-8", "ignore")
            out[f"{key}Details"] = {"truncated": True}
    return out


def log_message(event: HistoryEvent, execution_arn: str, *, include_data: bool) -> str:
    """The JSON message Step Functions writes for one history event."""
    return _message(event, _arn_tail(execution_arn), include_data, int(event.timestamp * 1000))


def _arn_tail(execution_arn: str) -> str:
    """The end of every message of one execution, encoded once per execution."""
    return ',"execution_arn":' + _encode(execution_arn) + "}"


def _message(event: HistoryEvent, tail: str, include_data: bool, ms: int) -> str:
    # Written out rather than a dict through the encoder: every event of every logging execution
    # comes here, and only ``details`` needs the encoder (the other members are digits, an event type
    # and the execution's ARN, encoded once in ``tail``). Members in AWS's order.
    details = event.details
    if details is None:
        middle = ""
    else:
        middle = ',"details":' + _encode(_truncate(details) if include_data else strip_data(details))
    return (
        f'{{"id":"{event.id}","type":{_type_text(event.type)}{middle},'
        f'"previous_event_id":"{event.previous_event_id}",'
        f'"event_timestamp":"{ms}"{tail}'
    )


@lru_cache(maxsize=512)
def _type_text(event_type: str) -> str:
    return _encode(event_type)


@dataclass(slots=True)
class LogSession:
    """One execution's view of the vended logs: filters by level and formats, then buffers."""

    owner: VendedLogs
    config: LoggingConfig
    machine_name: str
    execution_arn: str
    #: the execution's ARN as every message ends (``_arn_tail``)
    tail: str = field(init=False)
    #: the event types the level vends (None: all), the log group, and whether data is included
    wanted: frozenset[str] | None = field(init=False)
    group: str = field(init=False)
    include_data: bool = field(init=False)
    #: the stream of the minute the last event fell in: (minute, stream)
    minute: tuple[int, str] = field(init=False)

    def __post_init__(self) -> None:
        assert self.config.log_group is not None
        self.tail = _arn_tail(self.execution_arn)
        self.wanted = vended_types(self.config.level)
        self.group = self.config.log_group
        self.include_data = self.config.include_execution_data
        self.minute = (-1, "")

    def add(self, event: HistoryEvent) -> None:
        """Vend one event (if the level wants it); never blocks, never raises into the execution."""
        wanted = self.wanted
        if wanted is not None and event.type not in wanted:
            return
        ms = int(event.timestamp * 1000)
        message = _message(event, self.tail, self.include_data, ms)
        minute, stream = self.minute
        if ms // 60_000 != minute:
            stream = self.owner.stream_for(self.machine_name, ms)
            self.minute = (ms // 60_000, stream)
        self.owner.buffer(self.group, stream, ms, message)
        if event.type in _TERMINAL:
            self.owner.flush_soon()


class VendedLogs:
    """Batches vended events per (group, stream) and hands them to ``put`` off the hot path."""

    def __init__(self, put: Callable[[str, str, list[tuple[int, str]]], None], *,
                 flush_delay: float = 0.05) -> None:
        self._put = put
        self._flush_delay = flush_delay
        self._suffix = secrets.token_hex(4)
        self._pending: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._soon = False
        self._streams: dict[tuple[str, int], str] = {}

    def session(self, config: LoggingConfig, machine_name: str, execution_arn: str) -> LogSession | None:
        """A session for one execution, or None when its machine does not log."""
        if not config.enabled:
            return None
        return LogSession(self, config, machine_name, execution_arn)

    def stream_for(self, machine_name: str, ms: int) -> str:
        """``states/<machine>/<yyyy-mm-dd-hh-mm>/<hex>`` for the minute of ``ms``."""
        minute = ms // 60_000
        key = (machine_name, minute)
        stream = self._streams.get(key)
        if stream is None:
            if len(self._streams) > 10_000:
                self._streams.clear()
            stamp = time.strftime("%Y-%m-%d-%H-%M", time.gmtime(minute * 60))
            stream = self._streams[key] = f"states/{machine_name}/{stamp}/{self._suffix}"
        return stream

    def buffer(self, group: str, stream: str, ms: int, message: str) -> None:
        """Queue one event; schedule a flush if none is scheduled."""
        self._pending.setdefault((group, stream), []).append((ms, message))
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._timer = loop.call_later(self._flush_delay, self.flush)

    def flush_soon(self) -> None:
        """Flush at the end of this event-loop iteration (once, however many executions end in it)."""
        if self._soon:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._soon = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Hand every buffered event to the logs service now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._soon = False
        pending, self._pending = self._pending, {}
        for (group, stream), events in pending.items():
            events.sort(key=lambda e: e[0])
            self._put(group, stream, events)
