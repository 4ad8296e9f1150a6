"""What ``StatesService.start()`` does with work a crash (or a stop) left behind.

Why this policy:

- **Express async starts are re-run.** AWS runs an asynchronous Express execution at least once;
  the gateway answered ``200`` for each row in ``sfn_pending_starts``, so each is started again, with
  the same ARN, name, input and start date, on the machine revision it was accepted for. A re-run
  may repeat side effects of the interrupted attempt — that is what at-least-once means.
- **Standard executions left RUNNING are resumed** from their recorded history when the engine can
  (``Engine.resume``, ``resume.py``): the state that was entered and not exited runs again from its
  recorded input (at-least-once for that one state, as a Retry would), finished states are not
  repeated, and the new events are appended after the recorded ones — the history is keyed by
  ``(execution_id, id)`` for exactly this. Standard's start date, and so its TimeoutSeconds, is kept.
  Deadlines come from the history, not from the restart: a re-entered Wait keeps its recorded
  EnteredTime (so its deadline), a Task's recorded failures count against its Retry and a back-off in
  progress sleeps only what is left of it. A Task waiting on a token — at the top level or in an
  unfinished Parallel branch or Map iteration, at any depth — is issued the same token again
  (``task_tokens.py``: it names the recorded Entered event and the attempt) before the resumed
  execution takes a step (``EnginePort.reissue_token``, ``parallel_resume.waiting_tokens``), so a
  worker's SendTaskSuccess sent as soon as the server answers is kept for the Task. The Task's work
  runs again (at-least-once): its integration is called again with that same token. A Map that
  was in flight keeps its finished iterations: each ``MapIterationSucceeded``/``Failed`` is written
  with the iteration's result in ``sfn_checkpoints`` (same commit; AWS's history carries no
  per-iteration output), so the resumed Map reuses those results and runs only the unfinished
  iterations, recording none of its recorded events again (``map_resume.py``). A Parallel that was in
  flight keeps its finished branches: every event a branch records carries a private tag naming the
  branch, and the ``*StateExited`` that ends a branch carries a "branch finished" mark (both in
  ``sfn_checkpoints``, in the same commit as the event; ``branch_path.py``), so the resumed Parallel
  reuses the finished branches' outputs without running them, and each unfinished branch — like an
  unfinished Map iteration — goes on from its own recorded events by the rule above: the states it
  finished are not repeated, only its state in flight runs again (``parallel_resume.py``). A recorded
  ``ParallelStateFailed`` keeps the failure beside it, so that attempt is not run again either.
- **Otherwise they are closed as FAILED** (``States.Runtime``, with a cause that says why), e.g.
  under a test runner that cannot resume: re-running one from the start could repeat side effects
  that exactly-once forbids, and failing it visibly (DescribeExecution, ListExecutions
  ``statusFilter=FAILED``, an ``ExecutionFailed`` event after the last recorded one) is honest.

Example:
    >>> INTERRUPTED_ERROR
    'States.Runtime'
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

from ..store import Store
from .executions import (
    INSERT_EVENT_BY_ID,
    RUNNING_IDS,
    Execution,
    ExecutionKind,
    delete_pending,
    history_row,
    row_to_execution,
)
from .machines import MachineRegistry, MachineType, StateMachine
from .recorder import HistoryEvent

__all__ = ["INTERRUPTED_CAUSE", "INTERRUPTED_ERROR", "catch_up_clock", "recover"]

log = logging.getLogger("asyncgate.states")

INTERRUPTED_ERROR = "States.Runtime"
INTERRUPTED_CAUSE = (
    "The execution was interrupted: the local runtime stopped while it was running, and resuming "
    "Standard executions after a restart is not supported yet."
)


def catch_up_clock(store: Store, clock: Any) -> None:
    """Start a ``ScaledClock`` no earlier than the last recorded history event.

    Scaled time runs ahead of the wall clock; a restarted server's clock starts from the wall clock
    again, which would put resumed events *before* the ones recorded ahead of the crash. (A clock
    without ``catch_up`` — the system clock — never needs it.)
    """
    catch_up = getattr(clock, "catch_up", None)
    if catch_up is None:
        return
    last = store.read(lambda db: db.execute("SELECT MAX(timestamp) FROM sfn_history").fetchone()[0])
    if last is not None:
        catch_up(float(last))


async def recover(store: Store, machines: MachineRegistry, now: Callable[[], float],
                  respawn: Callable[[Execution, Any], None],
                  resume: Callable[[Execution, Any, list[HistoryEvent]], None] | None = None,
                  ) -> tuple[int, int]:
    """Re-run pending Express starts; resume (or, without ``resume``, fail) interrupted Standard ones.

    Returns ``(express_rerun, standard_resumed_or_failed)``.
    """
    pending = store.read(
        lambda db: db.execute(
            "SELECT arn, machine_arn, revision_id, name, input, start_date FROM sfn_pending_starts"
            " ORDER BY start_date"
        ).fetchall()
    )
    rerun = 0
    for arn, machine_arn, revision_id, name, text, start_date in pending:
        revision = machines.revision(revision_id)
        if revision is None:  # cannot happen unless the database was edited: drop the row, loudly
            log.error("pending start %s: revision %s is gone; dropped", arn, revision_id)
            await store.write(delete_pending(arn))
            continue
        machine = machines.machines.get(machine_arn) or StateMachine(
            machine_arn, machine_arn.rsplit(":", 1)[-1], MachineType.EXPRESS, revision, revision.created
        )
        execution = Execution(arn, name, machine, revision, ExecutionKind.EXPRESS, text, start_date)
        respawn(execution, json.loads(text))
        rerun += 1

    if resume is not None:
        resumed = 0
        for execution_id, execution, history in _interrupted(store, machines):
            RUNNING_IDS.hold(execution.arn, execution_id)  # its events name it by id; its end lets go
            resume(execution, json.loads(execution.input), history)
            resumed += 1
        if rerun or resumed:
            log.warning("recovery: re-ran %d Express start(s), resumed %d Standard execution(s)",
                        rerun, resumed)
        return rerun, resumed

    stop = now()

    def fail_running(db: sqlite3.Connection) -> int:
        rows = db.execute("SELECT id FROM sfn_executions WHERE status='RUNNING'").fetchall()
        for (execution_id,) in rows:
            sql = "SELECT MAX(id) FROM sfn_history WHERE execution_id=?"
            last = db.execute(sql, (execution_id,)).fetchone()[0] or 0
            event = HistoryEvent(last + 1, last, stop, "ExecutionFailed",
                                 {"error": INTERRUPTED_ERROR, "cause": INTERRUPTED_CAUSE})
            db.execute(INSERT_EVENT_BY_ID, history_row(execution_id, event))
            db.execute(
                "UPDATE sfn_executions SET status='FAILED', error=?, cause=?, stop_date=? WHERE id=?",
                (INTERRUPTED_ERROR, INTERRUPTED_CAUSE, stop, execution_id),
            )
        return len(rows)

    failed = await store.write(fail_running)
    if rerun or failed:
        log.warning("recovery: re-ran %d Express start(s), failed %d interrupted Standard execution(s)",
                    rerun, failed)
    return rerun, failed


def _interrupted(store: Store, machines: MachineRegistry) -> list[tuple[int, Execution, list[HistoryEvent]]]:
    """Standard executions still RUNNING in the store, each with its id and recorded history."""
    from .queries import COLUMNS

    rows = store.read(
        lambda db: db.execute(f"SELECT id, {COLUMNS} FROM sfn_executions WHERE status='RUNNING'").fetchall()
    )
    out = []
    for found in rows:
        execution_id, row = found[0], found[1:]
        revision = machines.revision(row[2])
        if revision is None:
            log.error("interrupted execution %s: revision %s is gone; left RUNNING", row[0], row[2])
            continue
        machine = machines.machines.get(row[1]) or StateMachine(
            row[1], row[1].rsplit(":", 1)[-1], MachineType.STANDARD, revision, revision.created
        )
        events = store.read(_history_rows(execution_id))
        history = [HistoryEvent(i, p, t, kind, None if d is None else json.loads(d), c)
                   for i, p, t, kind, d, c in events]
        out.append((execution_id, row_to_execution(row, machine, revision), history))
    return out


def _history_rows(execution_id: int) -> Callable[[sqlite3.Connection], list[Any]]:
    """The read op fetching an execution's history rows, each with its checkpointed output."""

    def op(db: sqlite3.Connection) -> list[Any]:
        return db.execute(
            "SELECT h.id, h.previous_id, h.timestamp, h.type, h.details, c.output FROM sfn_history h"
            " LEFT JOIN sfn_checkpoints c ON c.execution_id = h.execution_id AND c.event_id = h.id"
            " WHERE h.execution_id=? ORDER BY h.id", (execution_id,)
        ).fetchall()

    return op
