"""The Standard executions' tables, and the move that brings the first layout up to this one.

Why a move: the first layout keyed ``sfn_history`` and ``sfn_checkpoints`` by the execution's ARN,
which ends in a random name, so every execution in flight wrote into its own leaf page and a group
commit wrote ~one 4 KB page per execution per table to the WAL (``executions.py`` says more). This
layout keys them by ``sfn_executions.id``, an integer that grows with start order. A database the
previous version wrote must keep working after an upgrade, so ``upgrade`` runs at every open and
moves a first-layout database in one transaction: a crash (kill -9) during the move leaves the first
layout whole, and the next open moves it again.

Versions (the one row of ``sfn_schema``; the database is shared with other services, so the
version is the Step Functions tables' own, not ``PRAGMA user_version``):
    - none: empty, new (``executions.SCHEMA`` just made this layout), or the first layout (history
      keyed by ``execution_arn``);
    - 2: this layout.

The move, in one transaction:
    1. rename the three first-layout tables aside (``*_v1``) and drop the index by machine, whose
       name the new table's index takes;
    2. create this layout (``executions.SCHEMA``);
    3. copy the executions in start order (ids then follow it, as they do for new starts), then the
       history and checkpoints in key order, each row taking its execution's new id;
    4. drop the renamed tables and record the version.

Rows of history or checkpoints whose execution has no row are not copied: no API could read them
(GetExecutionHistory and a resume both begin at the execution's row), and the first layout never
wrote one (the row and its first event are one commit; the 90-day reuse deletes the events first).
"""

from __future__ import annotations

import logging
import sqlite3

from ..store import Store
from .executions import SCHEMA

__all__ = ["VERSION", "upgrade", "upgrade_db"]

log = logging.getLogger("asyncgate.states")

VERSION = 2

_VERSION = "SELECT version FROM sfn_schema WHERE id = 1"
_MARK = "INSERT OR REPLACE INTO sfn_schema (id, version) VALUES (1, ?)"
#: the history table's columns: ``execution_arn`` is the first layout's
_HISTORY_COLUMNS = "SELECT name FROM pragma_table_info('sfn_history')"
_RENAME_ASIDE = (
    "ALTER TABLE sfn_executions RENAME TO sfn_executions_v1",
    "ALTER TABLE sfn_history RENAME TO sfn_history_v1",
    "ALTER TABLE sfn_checkpoints RENAME TO sfn_checkpoints_v1",
    "DROP INDEX IF EXISTS sfn_executions_by_machine",
)
_COPY = (
    "INSERT INTO sfn_executions (arn, machine_arn, revision_id, name, status, input, output, error,"
    " cause, start_date, stop_date)"
    " SELECT arn, machine_arn, revision_id, name, status, input, output, error, cause, start_date,"
    " stop_date FROM sfn_executions_v1 ORDER BY start_date, arn",
    "INSERT INTO sfn_history (execution_id, id, previous_id, timestamp, type, details)"
    " SELECT e.id, h.id, h.previous_id, h.timestamp, h.type, h.details"
    " FROM sfn_history_v1 h JOIN sfn_executions e ON e.arn = h.execution_arn ORDER BY e.id, h.id",
    "INSERT INTO sfn_checkpoints (execution_id, event_id, output)"
    " SELECT e.id, c.event_id, c.output"
    " FROM sfn_checkpoints_v1 c JOIN sfn_executions e ON e.arn = c.execution_arn"
    " ORDER BY e.id, c.event_id",
)
_LEFT_BEHIND = (
    "SELECT (SELECT COUNT(*) FROM sfn_history_v1) - (SELECT COUNT(*) FROM sfn_history),"
    " (SELECT COUNT(*) FROM sfn_checkpoints_v1) - (SELECT COUNT(*) FROM sfn_checkpoints)"
)
_DROP_RENAMED = (
    "DROP TABLE sfn_checkpoints_v1",
    "DROP TABLE sfn_history_v1",
    "DROP TABLE sfn_executions_v1",
)
_CREATE = tuple(statement for statement in SCHEMA.split(";") if statement.strip())


def _run(db: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    for statement in statements:
        db.execute(statement)


def upgrade_db(db: sqlite3.Connection) -> bool:
    """Bring ``db`` (an autocommit connection) to this layout in one transaction; whether it moved
    a first-layout database."""
    moved = False
    db.execute("BEGIN IMMEDIATE")
    try:
        _run(db, _CREATE)  # a new database gets this layout; an older one keeps its tables for now
        row = db.execute(_VERSION).fetchone()
        if row is None or row[0] < VERSION:
            if "execution_arn" in {name for (name,) in db.execute(_HISTORY_COLUMNS)}:
                _run(db, _RENAME_ASIDE)
                _run(db, _CREATE)
                _run(db, _COPY)
                events, checkpoints = db.execute(_LEFT_BEHIND).fetchone()
                if events or checkpoints:
                    log.warning("schema: %d history event(s) and %d checkpoint(s) of no execution"
                                " were not kept", events, checkpoints)
                _run(db, _DROP_RENAMED)
                moved = True
            db.execute(_MARK, (VERSION,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite ends it itself on some errors (interrupt, full disk, I/O)
            db.execute("ROLLBACK")
        raise
    return moved


def upgrade(store: Store) -> None:
    """``upgrade_db`` at open, as ``Store.migrate`` runs a migration (its own connection; a failure
    is a ``StoreError``)."""

    def move(db: sqlite3.Connection) -> None:
        if upgrade_db(db):
            log.warning("schema: moved the Step Functions history to layout %d", VERSION)

    store.migrate(move)
