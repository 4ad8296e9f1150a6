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


def _copies(groups: str, streams: str, events: str, *, first_layout: bool) -> tuple[str, str, str]:
    """The three statements that copy one source's groups, streams and events (in their order) into
    main's tables. Called at import with literal table names only: the statements are constants."""
    if first_layout:
        stream_rows = f"SELECT grp, name, created, first_event, last_event, last_ingestion FROM {streams}"
        event_rows = f"SELECT grp, stream, ts, ingestion, message, id AS seq FROM {events}"
    else:
        stream_rows = (
            "SELECT g.name AS grp, t.name, t.created, t.first_event, t.last_event, t.last_ingestion"
            f" FROM {streams} t JOIN {groups} g ON g.id = t.group_id"
        )
        event_rows = (
            "SELECT g.name AS grp, t.name AS stream, e.ts, e.ingestion, e.message, e.id AS seq"
            f" FROM {events} e JOIN {streams} t ON t.id = e.stream_id JOIN {groups} g ON g.id = e.group_id"
        )
    return (
        "INSERT OR IGNORE INTO main.logs_groups (name, created, retention_days)"
        f" SELECT name, created, retention_days FROM {groups}",
        "INSERT OR IGNORE INTO main.logs_streams"
        " (group_id, name, created, first_event, last_event, last_ingestion)"
        " SELECT g.id, x.name, x.created, x.first_event, x.last_event, x.last_ingestion"
        f" FROM ({stream_rows}) x JOIN main.logs_groups g ON g.name = x.grp",
        "INSERT INTO main.logs_events (group_id, stream_id, ts, ingestion, message)"
        " SELECT t.group_id, t.id, x.ts, x.ingestion, x.message"
        f" FROM ({event_rows}) x JOIN main.logs_groups g ON g.name = x.grp"
        " JOIN main.logs_streams t ON t.group_id = g.id AND t.name = x.stream ORDER BY x.seq",
    )


#: a first-layout logs database's own tables, renamed aside by ``upgrade``
_FROM_RENAMED = _copies("main.logs_groups_v1", "main.logs_streams_v1", "main.logs_events_v1",
                        first_layout=True)
#: an older main database's logs tables, attached as ``old``, in either layout
_FROM_OLD_FIRST = _copies("old.logs_groups", "old.logs_streams", "old.logs_events", first_layout=True)
_FROM_OLD_THIS = _copies("old.logs_groups", "old.logs_streams", "old.logs_events", first_layout=False)
_RENAME_ASIDE = (
    "ALTER TABLE logs_groups RENAME TO logs_groups_v1",
    "ALTER TABLE logs_streams RENAME TO logs_streams_v1",
    "ALTER TABLE logs_events RENAME TO logs_events_v1",
    "DROP INDEX IF EXISTS logs_events_by_stream",
    "DROP INDEX IF EXISTS logs_events_by_group",
)
_DROP_RENAMED = (
    "DROP TABLE IF EXISTS logs_events_v1",
    "DROP TABLE IF EXISTS logs_streams_v1",
    "DROP TABLE IF EXISTS logs_groups_v1",
)
_DROP_OLD = (
    "DROP TABLE IF EXISTS old.logs_events",
    "DROP TABLE IF EXISTS old.logs_streams",
    "DROP TABLE IF EXISTS old.logs_groups",
)
#: whether a schema has logs events, and whether they are of the first layout (a ``grp`` column)
_MAIN_EVENTS = "SELECT name FROM pragma_table_info('logs_events', 'main')"
_OLD_EVENTS = "SELECT name FROM pragma_table_info('logs_events', 'old')"


def _run(db: sqlite3.Connection, statements: tuple[str, ...]) -> int:
    """Run fixed statements in order; returns the last one's row count."""
    count = 0
    for statement in statements:
        count = db.execute(statement).rowcount
    return count


def upgrade(db: sqlite3.Connection) -> None:
    """Bring the logs database ``db`` (autocommit connection) to this layout, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] < VERSION:
            columns = {row[0] for row in db.execute(_MAIN_EVENTS)}
            first = "grp" in columns
            if first:  # all three tables exist in that layout: the first schema made them together
                _run(db, _RENAME_ASIDE)
            _run(db, tuple(s for s in SCHEMA.split(";") if s.strip()))
            if first:
                _run(db, _FROM_RENAMED)
                _run(db, _DROP_RENAMED)
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite ends it itself on some errors (interrupt, full disk, I/O)
            db.execute("ROLLBACK")
        raise


def adopt(db: sqlite3.Connection, source: str) -> int:
    """Move the logs tables of the attached database ``old`` into main's; returns the events moved.

    ``source`` names the file, for the marker that makes the move happen once.
    """
    columns = {row[0] for row in db.execute(_OLD_EVENTS)}
    if not columns:
        return 0
    moved = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        done = db.execute("SELECT 1 FROM main.logs_adopted WHERE source = ?", (source,)).fetchone()
        if not done:
            moved = _run(db, _FROM_OLD_FIRST if "grp" in columns else _FROM_OLD_THIS)
            db.execute("INSERT INTO main.logs_adopted (source) VALUES (?)", (source,))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:  # SQLite ends it itself on some errors (interrupt, full disk, I/O)
            db.execute("ROLLBACK")
        raise
    db.execute("BEGIN IMMEDIATE")
    _run(db, _DROP_OLD)
    db.execute("COMMIT")
    return moved
