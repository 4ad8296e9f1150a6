"""The CloudWatch Logs tables, and the moves that bring older layouts up to them.

Why this shape: every log line the runtime writes (Lambda's START/END/REPORT and the handler's own,
Step Functions' vended events, access logs) is a row here, so an append is the hottest write there
is. Events name their group and stream by integer id, not by text: the first layout repeated both
names (~100 bytes) in the row and in both of its indexes. The store's writer thread spent 25-27 us of
CPU on a put of 3 Lambda lines to one of 16 streams; with ids, and the ids cached by ``Logs``, it
spends 14-18 (three interleaved runs each), and the file is about a third of the size. Ids are
AUTOINCREMENT, so a deleted group's or stream's id is never handed to another one, and a cached id
is checked against the names it was cached for.

Versions (``PRAGMA user_version`` of the logs database):
    - 0: empty, or the first layout (events keyed by group and stream names);
    - 2: this layout.

``upgrade`` runs at every open and moves a first-layout database to this one in one transaction.
``adopt`` moves the logs tables that an even older layout kept in the main database (either layout)
into the logs database; a marker row committed with the copy makes a crash between the copy and the
drop harmless (the next start only drops).
"""

from __future__ import annotations

import sqlite3

__all__ = ["SCHEMA", "VERSION", "adopt", "upgrade"]

VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS logs_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    retention_days INTEGER
);
CREATE TABLE IF NOT EXISTS logs_streams (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    created INTEGER NOT NULL,
    first_event INTEGER,
    last_event INTEGER,
    last_ingestion INTEGER,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS logs_events (
    id INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL,
    stream_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    ingestion INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_events_by_stream ON logs_events (stream_id, ts, id);
CREATE INDEX IF NOT EXISTS logs_events_by_group ON logs_events (group_id, ts, id);
CREATE TABLE IF NOT EXISTS logs_adopted (source TEXT PRIMARY KEY);
"""

#: a source's rows in one shape, whatever its layout: (grp, created, retention_days), (grp, name,
#: created, first_event, last_event, last_ingestion), (grp, stream, ts, ingestion, message, seq)
_FIRST_LAYOUT = (
    "SELECT name AS grp, created, retention_days FROM {groups}",
    "SELECT grp, name, created, first_event, last_event, last_ingestion FROM {streams}",
    "SELECT grp, stream, ts, ingestion, message, id AS seq FROM {events}",
)
_THIS_LAYOUT = (
    "SELECT name AS grp, created, retention_days FROM {groups}",
    "SELECT g.name AS grp, t.name, t.created, t.first_event, t.last_event, t.last_ingestion"
    " FROM {streams} t JOIN {groups} g ON g.id = t.group_id",
    "SELECT g.name AS grp, t.name AS stream, e.ts, e.ingestion, e.message, e.id AS seq"
    " FROM {events} e JOIN {streams} t ON t.id = e.stream_id JOIN {groups} g ON g.id = e.group_id",
)


def _tables(db: sqlite3.Connection, schema: str) -> dict[str, set[str]]:
    """The logs tables of ``schema`` and their columns."""
    names = [r[0] for r in db.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'")]
    return {
        name: {c[1] for c in db.execute(f"PRAGMA {schema}.table_info({name})")}
        for name in names
        if name in ("logs_groups", "logs_streams", "logs_events")
    }


def _copy(db: sqlite3.Connection, layout: tuple[str, str, str], schema: str, suffix: str = "") -> int:
    """Copy the groups, streams and events of ``schema``'s ``logs_*{suffix}`` tables (in their order)
    into main's tables; returns the number of events copied."""
    names = {k: f"{schema}.logs_{k}{suffix}" for k in ("groups", "streams", "events")}
    groups, streams, events = (sql.format(**names) for sql in layout)
    db.execute(f"INSERT OR IGNORE INTO main.logs_groups (name, created, retention_days) {groups}")
    db.execute(
        "INSERT OR IGNORE INTO main.logs_streams"
        " (group_id, name, created, first_event, last_event, last_ingestion)"
        " SELECT g.id, x.name, x.created, x.first_event, x.last_event, x.last_ingestion"
        f" FROM ({streams}) x JOIN main.logs_groups g ON g.name = x.grp"
    )
    return db.execute(
        "INSERT INTO main.logs_events (group_id, stream_id, ts, ingestion, message)"
        " SELECT t.group_id, t.id, x.ts, x.ingestion, x.message"
        f" FROM ({events}) x JOIN main.logs_groups g ON g.name = x.grp"
        " JOIN main.logs_streams t ON t.group_id = g.id AND t.name = x.stream ORDER BY x.seq"
    ).rowcount


def upgrade(db: sqlite3.Connection) -> None:
    """Bring the logs database ``db`` (autocommit connection) to this layout, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            old = _tables(db, "main")
            first = "grp" in old.get("logs_events", set())
            for name in old if first else ():
                db.execute(f"ALTER TABLE {name} RENAME TO {name}_v1")
            if first:
                db.execute("DROP INDEX IF EXISTS logs_events_by_stream")
                db.execute("DROP INDEX IF EXISTS logs_events_by_group")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if first:
                _copy(db, _FIRST_LAYOUT, "main", "_v1")
                for name in old:
                    db.execute(f"DROP TABLE {name}_v1")
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def adopt(db: sqlite3.Connection, source: str) -> int:
    """Move the logs tables of the attached database ``old`` into main's; returns the events moved.

    ``source`` names the file, for the marker that makes the move happen once.
    """
    old = _tables(db, "old")
    if "logs_events" not in old:
        return 0
    layout = _FIRST_LAYOUT if "grp" in old["logs_events"] else _THIS_LAYOUT
    moved = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        done = db.execute("SELECT 1 FROM main.logs_adopted WHERE source = ?", (source,)).fetchone()
        if not done:
            moved = _copy(db, layout, "old")
            db.execute("INSERT INTO main.logs_adopted (source) VALUES (?)", (source,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("BEGIN IMMEDIATE")
    for name in ("logs_events", "logs_streams", "logs_groups"):
        if name in old:
            db.execute(f"DROP TABLE old.{name}")
    db.execute("COMMIT")
    return moved
