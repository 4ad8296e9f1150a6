"""What ``StatesService.start()`` does with work a crash (or a stop) left behind.

Why this policy:

- **Express async starts are re-run.** AWS runs an asynchronous Express execution at least once;
  the gateway answered ``200`` for each row in ``sfn_pending_starts``, so each is started again, with
  the same ARN, name, input and start date, on the machine revision it was accepted for. A re-run
  may repeat side effects of the interrupted attempt — that is what at-least-once means.
- **Standard executions left RUNNING are closed as FAILED** (``States.Runtime``, with a cause that
  says why). AWS runs Standard workflows exactly once and resumes them; this runtime does not resume
  yet, and re-running one from the start could repeat side effects that exactly-once forbids. Failing
  it visibly (DescribeExecution, ListExecutions ``statusFilter=FAILED``, an ``ExecutionFailed`` event
  appended after the last recorded one) is the honest answer until resume lands. Nothing is deleted:
  the history is keyed by ``(execution_arn, id)``, so a resume can replace this policy and append.

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
from .executions import Execution, ExecutionKind, delete_pending, history_row
from .machines import MachineRegistry, MachineType, StateMachine
from .recorder import HistoryEvent

__all__ = ["INTERRUPTED_CAUSE", "INTERRUPTED_ERROR", "recover"]

log = logging.getLogger("asyncgate.states")

INTERRUPTED_ERROR = "States.Runtime"
INTERRUPTED_CAUSE = (
    "The execution was interrupted: the local runtime stopped while it was running, and resuming "
    "Standard executions after a restart is not supported yet."
)


async def recover(store: Store, machines: MachineRegistry, now: Callable[[], float],
                  respawn: Callable[[Execution, Any], None]) -> tuple[int, int]:
    """Re-run pending Express starts and fail interrupted Standard executions.

    Returns ``(express_rerun, standard_failed)``.
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

    stop = now()

    def fail_running(db: sqlite3.Connection) -> int:
        rows = db.execute("SELECT arn FROM sfn_executions WHERE status='RUNNING'").fetchall()
        for (arn,) in rows:
            last = db.execute("SELECT MAX(id) FROM sfn_history WHERE execution_arn=?", (arn,)).fetchone()[0]
            last = last or 0
            event = HistoryEvent(last + 1, last, stop, "ExecutionFailed",
                                 {"error": INTERRUPTED_ERROR, "cause": INTERRUPTED_CAUSE})
            db.execute("INSERT INTO sfn_history VALUES (?, ?, ?, ?, ?, ?)", history_row(arn, event))
            db.execute(
                "UPDATE sfn_executions SET status='FAILED', error=?, cause=?, stop_date=? WHERE arn=?",
                (INTERRUPTED_ERROR, INTERRUPTED_CAUSE, stop, arn),
            )
        return len(rows)

    failed = await store.write(fail_running)
    if rerun or failed:
        log.warning("recovery: re-ran %d Express start(s), failed %d interrupted Standard execution(s)",
                    rerun, failed)
    return rerun, failed
