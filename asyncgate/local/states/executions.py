"""Executions: starting, running, stopping and describing them, Standard and Express.

Why three paths: the three ways AWS runs a workflow promise different things, and the local
runtime keeps each promise at the lowest cost.

- **Standard** (StartExecution on a STANDARD machine): exactly-once, history queryable for 90 days.
  The execution row and its ``ExecutionStarted`` event are committed before the call returns; every
  later event is queued to the same group commit (``write_nowait``, in order), and the terminal event
  and status are committed (awaited) before the execution counts as ended. Events are keyed by
  ``(execution_id, id)`` so a resume after a restart can append to them (``recovery.py``).
- **Express async** (StartExecution on an EXPRESS machine): at-least-once, no history in the service.
  A row in ``sfn_pending_starts`` is committed before the call returns — this is the durable hand-off
  the gateway's ``200`` stands for; many concurrent starts share one fsync. The row is deleted when
  the execution ends; ``recovery.py`` re-runs the rows a crash left behind.
- **Express sync** (StartSyncExecution): at-most-once; runs inline, nothing persisted.

History events go through a ``Recorder`` to the execution's sinks: the store (Standard) and the
vended logs (any type, when the machine logs).

Tables:
    ``sfn_executions``      one row per Standard execution; ``id`` numbers them in start order
    ``sfn_history``         (execution_id, id) -> event, Standard only
    ``sfn_checkpoints``     (execution_id, event_id) -> private resume data beside an event: a Map
                            iteration's result, the branch that recorded it, a branch's end
    ``sfn_pending_starts``  accepted Express async starts not yet finished
    ``sfn_schema``          the layout's version (``schema.py`` moves older layouts to this one)

Why history is keyed by an integer id and not by the ARN: an ARN ends in a random name, so the
executions in flight each wrote into their own leaf page of both tables, and a group commit wrote
about one 4 KB page per execution per table to the WAL. Ids grow with start order, so executions
started together share their pages. The id is ``AUTOINCREMENT``: never handed out twice, even after
a name's 90-day reuse deletes the row that had the highest one, so no event can land in another
execution's history. Callers still name an execution by ARN: ``RUNNING_IDS`` knows the ids of the
executions running in this process, and a statement looks the id up by ARN only when it does not.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..arns import arn as make_arn
from ..jsontext import compact, spaced
from ..store import Inserts
from .machines import Revision, StateMachine
from .recorder import HistoryEvent, Recorder
from .validation import random_uuid, validate_input, validate_name

__all__ = [
    "EXPRESS_MAX_SECONDS",
    "INSERT_EVENT_BY_ID",
    "NAME_RETENTION_SECONDS",
    "RUNNING_IDS",
    "SCHEMA",
    "Execution",
    "ExecutionKind",
    "ExecutionStatus",
    "Outcome",
    "Runner",
    "RunningIds",
    "dumps",
    "new_execution",
    "start_args",
    "terminal_event",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS sfn_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    machine_arn TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date REAL NOT NULL,
    stop_date REAL
);
CREATE INDEX IF NOT EXISTS sfn_executions_by_machine ON sfn_executions (machine_arn, start_date);
CREATE TABLE IF NOT EXISTS sfn_history (
    execution_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    previous_id INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    type TEXT NOT NULL,
    details TEXT,
    PRIMARY KEY (execution_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sfn_checkpoints (
    execution_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    output TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sfn_pending_starts (
    arn TEXT PRIMARY KEY,
    machine_arn TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    name TEXT NOT NULL,
    input TEXT NOT NULL,
    start_date REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sfn_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
"""

#: An Express execution runs for at most five minutes, then times out (States.Timeout).
EXPRESS_MAX_SECONDS = 300.0

#: A closed Standard execution (and its name) is kept for 90 days; then the name may be used again.
NAME_RETENTION_SECONDS = 90 * 24 * 3600.0


class ExecutionStatus(StrEnum):
    """``status`` of an execution."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"


class ExecutionKind(StrEnum):
    """How an execution was started, which decides what is persisted."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"
    SYNC = "SYNC"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an execution ended: the terminal status with its output or error and cause."""

    status: ExecutionStatus
    output: str | None = None
    error: str | None = None
    cause: str | None = None


#: Runs the engine for one execution: (execution, parsed input, recorder) -> outcome.
Runner = Callable[["Execution", Any, Recorder], Awaitable[Outcome]]


_encode = compact


def dumps(value: Any) -> str:
    """JSON as Step Functions writes outputs: compact, non-ASCII kept."""
    return _encode(value)


@dataclass(slots=True, eq=False)
class Execution:
    """One execution, live while it runs (its row, if any, follows it)."""

    arn: str
    name: str
    machine: StateMachine
    revision: Revision
    kind: ExecutionKind
    input: str
    start_date: float
    status: ExecutionStatus = ExecutionStatus.RUNNING
    output: str | None = None
    error: str | None = None
    cause: str | None = None
    stop_date: float | None = None
    #: set by StopExecution before it cancels the task: (error, cause)
    stop_request: tuple[str | None, str | None] | None = None
    task: asyncio.Task[Outcome] | None = field(default=None, repr=False)
    #: the execution's recorder while it runs (muted at shutdown)
    recorder: Recorder | None = field(default=None, repr=False)

    def finish(self, outcome: Outcome, stop_date: float) -> None:
        """Take the terminal outcome."""
        self.status = outcome.status
        self.output = outcome.output
        self.error = outcome.error
        self.cause = outcome.cause
        self.stop_date = stop_date

    def describe(self, *, include_data: bool = True) -> dict[str, Any]:
        """DescribeExecution's answer."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine.arn,
            "name": self.name,
            "status": self.status.value,
            "startDate": self.start_date,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        if include_data:
            out["input"] = self.input
        out["inputDetails"] = {"included": include_data}
        if self.status is ExecutionStatus.SUCCEEDED:
            if include_data:
                out["output"] = self.output
            out["outputDetails"] = {"included": include_data}
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        if self.kind is ExecutionKind.STANDARD:
            out["redriveCount"] = 0
            redrivable = self.status in (ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT,
                                         ExecutionStatus.ABORTED)
            out["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
        return out

    def list_item(self) -> dict[str, Any]:
        """One entry of ListExecutions."""
        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine.arn,
            "name": self.name,
            "status": self.status.value,
            "startDate": self.start_date,
        }
        if self.stop_date is not None:
            out["stopDate"] = self.stop_date
        return out

    def machine_description(self) -> dict[str, Any]:
        """DescribeStateMachineForExecution: the machine as the revision this execution runs."""
        rev = self.revision
        return {
            "stateMachineArn": self.machine.arn,
            "name": self.machine.name,
            "definition": rev.definition,
            "roleArn": rev.role_arn,
            "updateDate": rev.created,
            "loggingConfiguration": rev.logging.to_api(),
            "tracingConfiguration": {"enabled": self.machine.tracing},
            "revisionId": rev.revision_id,
        }

    def started_event(self) -> tuple[str, dict[str, Any]]:
        """The ``ExecutionStarted`` event this execution begins with."""
        return "ExecutionStarted", {
            "input": self.input,
            "inputDetails": {"truncated": False},
            "roleArn": self.revision.role_arn,
        }


def start_args(request: dict[str, Any]) -> tuple[str, str, Any]:
    """StartExecution's ``(name, input text, input value)``, validated as AWS does (a uuid name if none)."""
    name = request.get("name")
    name = random_uuid() if name is None else validate_name(name)
    text, value = validate_input(request.get("input"))
    return name, text, value


def new_execution(machine: StateMachine, kind: ExecutionKind, name: str, text: str, now: float) -> Execution:
    """A new execution's record: Standard ARNs are ``execution:MACHINE:NAME``, Express ones
    ``express:MACHINE:NAME:UUID`` (an Express name may be reused at once)."""
    if kind is ExecutionKind.STANDARD:
        arn = make_arn("states", f"execution:{machine.name}:{name}")
    else:
        arn = make_arn("states", f"express:{machine.name}:{name}:{random_uuid()}")
    return Execution(arn, name, machine, machine.revision, kind, text, now)


def terminal_event(outcome: Outcome) -> tuple[str, dict[str, Any]]:
    """The execution's last event for an outcome (Succeeded, Failed, TimedOut, Aborted)."""
    if outcome.status is ExecutionStatus.SUCCEEDED:
        return "ExecutionSucceeded", {"output": outcome.output, "outputDetails": {"truncated": False}}
    details = {k: v for k, v in (("error", outcome.error), ("cause", outcome.cause)) if v is not None}
    kind = {
        ExecutionStatus.FAILED: "ExecutionFailed",
        ExecutionStatus.TIMED_OUT: "ExecutionTimedOut",
        ExecutionStatus.ABORTED: "ExecutionAborted",
    }[outcome.status]
    return kind, details


class RunningIds:
    """ARN -> id of the Standard executions running in this process, for ``insert_event``.

    Why: an event names its execution by ARN (the recorder's sinks know no more), and looking the id
    up in SQL for every event and checkpoint cost the store's writer about a seventh of its CPU. The
    start op (on the writer thread) and a resume (``recovery.py``) hold the execution's id here, the
    op that ends it lets go.

    Why it can be trusted although it is one map for the whole process, where several stores (tests,
    a restart in process) may run executions of the same ARN: an id is handed out only while every
    holder of that ARN holds the same id. Every store that records events for an ARN holds its id
    from before its first event until after its last, so the id handed out is that execution's in
    each of them. Holders that disagree, or a start whose commit failed, cost a lookup, never a
    wrong id. Lookups take no lock (one ``dict.get``); changes do.

    Example:
        >>> ids = RunningIds()
        >>> ids.hold("arn:x", 7); ids.get("arn:x")
        7
        >>> ids.hold("arn:x", 9); ids.get("arn:x") is None  # another store's "arn:x": look it up
        True
        >>> ids.release("arn:x", 9); ids.get("arn:x")
        7
    """

    __slots__ = ("_agreed", "_held", "_lock")

    def __init__(self) -> None:
        #: arn -> {id: holders}
        self._held: dict[str, dict[int, int]] = {}
        #: arn -> id, when all of the ARN's holders hold that one id
        self._agreed: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, arn: str) -> int | None:
        """The id every holder of ``arn`` holds, or None (look it up)."""
        return self._agreed.get(arn)

    def hold(self, arn: str, execution_id: int) -> None:
        """One more holder of ``arn``'s id ``execution_id`` (a start, a resume)."""
        with self._lock:
            held = self._held.setdefault(arn, {})
            held[execution_id] = held.get(execution_id, 0) + 1
            self._settle(arn, held)

    def release(self, arn: str, execution_id: int) -> None:
        """One holder fewer (the execution ended)."""
        with self._lock:
            held = self._held.get(arn)
            if held is None or execution_id not in held:
                return
            held[execution_id] -= 1
            if not held[execution_id]:
                del held[execution_id]
            if not held:
                del self._held[arn]
            self._settle(arn, held)

    def _settle(self, arn: str, held: dict[int, int]) -> None:
        if len(held) == 1:
            self._agreed[arn] = next(iter(held))
        else:
            self._agreed.pop(arn, None)


#: the process's running Standard executions' ids
RUNNING_IDS = RunningIds()

# -- store operations (run on the store's writer thread) ------------------------------------------
#: an event or checkpoint of the execution with the id of the first parameter or, when it is NULL,
#: the ARN of the second; the same statement either way, so a group's rows keep their order
_INSERT_EVENT = (
    "INSERT OR REPLACE INTO sfn_history VALUES"
    " (COALESCE(?, (SELECT id FROM sfn_executions WHERE arn=?)), ?, ?, ?, ?, ?)"
)
_INSERT_CHECKPOINT = (
    "INSERT OR REPLACE INTO sfn_checkpoints VALUES"
    " (COALESCE(?, (SELECT id FROM sfn_executions WHERE arn=?)), ?, ?)"
)
#: an event of the execution whose id the caller has (the start, recovery)
INSERT_EVENT_BY_ID = "INSERT OR REPLACE INTO sfn_history VALUES (?, ?, ?, ?, ?, ?)"


def history_row(execution_id: int, event: HistoryEvent) -> tuple[Any, ...]:
    """An event as a ``sfn_history`` row (details as ``json.dumps`` writes them, ``spaced``)."""
    details = None if event.details is None else spaced(event.details)
    return (execution_id, event.id, event.previous_event_id, event.timestamp, event.type, details)


def insert_event(arn: str, event: HistoryEvent) -> Inserts:
    """A write op appending one event to a Standard execution's history.

    An event's checkpoint (a Map iteration's result, its branch tag, a branch's end mark) goes in the
    same op, so in the same commit: a resume never sees the event without the data it needs. The op
    is ``Inserts`` (rows, not a closure), so the store writes a group's events with one
    ``executemany`` per table. The rows name the execution by id when ``RUNNING_IDS`` has it, else
    the statements look it up by ``arn``; an ARN with no execution row fails the op (``id`` is NOT
    NULL), which the store then drops alone.
    """
    execution_id = RUNNING_IDS.get(arn)
    details = None if event.details is None else spaced(event.details)
    row = (execution_id, arn, event.id, event.previous_event_id, event.timestamp, event.type, details)
    checkpoint = event.checkpoint
    if checkpoint is None:
        return Inserts(((_INSERT_EVENT, row),))
    return Inserts(((_INSERT_EVENT, row), (_INSERT_CHECKPOINT, (execution_id, arn, event.id, checkpoint))))


def insert_standard(
    execution: Execution, started: HistoryEvent
) -> Callable[[sqlite3.Connection], str | None]:
    """The write op for a Standard start: the row and its first event, unless the name is taken.

    Runs on the writer thread, so the check-then-insert is atomic against concurrent starts. Returns
    None when inserted, else the existing row's ``status`` and whether its input matches
    (``"RUNNING:same"``) for the caller to decide idempotency.
    """
    e = execution

    def op(db: sqlite3.Connection) -> str | None:
        sql = "SELECT status, input, stop_date, id FROM sfn_executions WHERE arn=?"
        row = db.execute(sql, (e.arn,)).fetchone()
        if row is not None and row[2] is not None and row[2] <= e.start_date - NAME_RETENTION_SECONDS:
            # closed more than 90 days ago: AWS no longer keeps it, and the name is free again
            db.execute("DELETE FROM sfn_history WHERE execution_id=?", (row[3],))
            db.execute("DELETE FROM sfn_checkpoints WHERE execution_id=?", (row[3],))
            db.execute("DELETE FROM sfn_executions WHERE id=?", (row[3],))
        elif row is not None:
            return f"{row[0]}:{'same' if row[1] == e.input else 'other'}"
        (execution_id,) = db.execute(
            "INSERT INTO sfn_executions (arn, machine_arn, revision_id, name, status, input, start_date)"
            " VALUES (?, ?, ?, ?, 'RUNNING', ?, ?) RETURNING id",
            (e.arn, e.machine.arn, e.revision.revision_id, e.name, e.input, e.start_date),
        ).fetchone()
        db.execute(INSERT_EVENT_BY_ID, history_row(execution_id, started))
        RUNNING_IDS.hold(e.arn, execution_id)  # before the caller learns of the start, so of any event
        return None

    return op


def finish_standard(arn: str, outcome: Outcome, stop_date: float) -> Callable[[sqlite3.Connection], None]:
    """The write op that ends a Standard execution's row.

    Its terminal event was queued just before (the recorder's store sink), and the store's queue is
    FIFO, so once this op is durable the whole history is too; its events are built, so the op lets
    go of the execution's id (``RUNNING_IDS``).
    """
    values = (outcome.status.value, outcome.output, outcome.error, outcome.cause, stop_date, arn)

    def op(db: sqlite3.Connection) -> None:
        ended = db.execute(
            "UPDATE sfn_executions SET status=?, output=?, error=?, cause=?, stop_date=? WHERE arn=?"
            " RETURNING id",
            values,
        ).fetchone()
        if ended is not None:
            RUNNING_IDS.release(arn, ended[0])

    return op


def insert_pending(execution: Execution) -> Callable[[sqlite3.Connection], None]:
    """The write op recording an accepted Express async start (the durable hand-off)."""
    e = execution
    row = (e.arn, e.machine.arn, e.revision.revision_id, e.name, e.input, e.start_date)

    def op(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO sfn_pending_starts VALUES (?, ?, ?, ?, ?, ?)", row)

    return op


def delete_pending(arn: str) -> Callable[[sqlite3.Connection], None]:
    """The write op forgetting an Express start once it has ended."""

    def op(db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM sfn_pending_starts WHERE arn=?", (arn,))

    return op


def row_to_execution(row: tuple[Any, ...], machine: StateMachine, revision: Revision) -> Execution:
    """A finished (or interrupted) Standard execution from its ``sfn_executions`` row."""
    arn, _machine_arn, _rev, name, status, input_, output, error, cause, start, stop = row
    return Execution(
        arn, name, machine, revision, ExecutionKind.STANDARD, input_, start,
        ExecutionStatus(status), output, error, cause, stop,
    )
