"""CloudWatch Logs: log groups, streams and events, in the store.

Logs live in a database of their own (``logs.sqlite3`` beside the server's ``asyncgate.sqlite3``):
they are most of what the runtime writes, and both the server and its Express worker process write
them, so keeping them apart lets each process append its lines without going through the other, and
keeps the server's group commits — the ones a webhook's ``200`` waits on — small. ``adopt_logs`` moves
the tables an older layout kept in the main database.

Why hand-written: the runtime writes logs from inside itself (Lambda START/END/REPORT lines, Step
Functions' vended execution events) at a high rate, and must serve them back through CloudWatch Logs'
own API so that boto3's ``logs`` client and ``aws logs tail`` work. moto's logs backend is in-memory
and would put a second copy of every event in RAM; a few tables in the shared SQLite store give
durable logs, filtered and paged by SQL.

Writes are fire-and-forget (``put``): they join the store's next group commit, and the puts to one
stream made before that op runs are appended by one op (a Lambda worker's stream gets a put per
invocation: one op, not one each, keeps the writer's statements per line low). Reads see everything
committed. The API methods take and return CloudWatch Logs' JSON shapes (``Logs_20140328.*``).

Example:
    >>> import asyncio, pathlib, tempfile
    >>> from asyncgate.local.store import Store, StoreError
    >>> logs = Logs(Store(pathlib.Path(tempfile.mkdtemp()) / "db"))
    >>> logs.put("/aws/lambda/f", "s1", [(1_700_000_000_000, "hello")])
    >>> asyncio.run(logs.store.barrier())
    >>> r = asyncio.run(logs.get_log_events({"logGroupName": "/aws/lambda/f", "logStreamName": "s1"}))
    >>> [e["message"] for e in r["events"]]
    ['hello']
"""

from __future__ import annotations

import base64
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from asyncgate.local import logs_schema
from asyncgate.local.arns import arn
from asyncgate.local.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from asyncgate.local.log_filters import compile_filter_pattern
from asyncgate.local.store import Store, StoreError

__all__ = ["COMMIT_DELAY", "LOGS_DB", "Logs", "adopt_logs", "compile_filter_pattern"]

_PAGE_MAX = 10_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _group_arn(name: str) -> str:
    return arn("logs", f"log-group:{name}:*")


def _token(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}/{value}".encode()).decode()


def _untoken(kind: str, token: str | None) -> int | None:
    if token is None:
        return None
    try:
        k, _, v = base64.urlsafe_b64decode(token.encode()).decode().partition("/")
        if k == kind:
            return int(v)
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidParameterException("The specified nextToken is invalid.")


def _filter_cursor(token: str | None) -> tuple[int, int]:
    """FilterLogEvents' page token: the (timestamp, id) of the last event read."""
    if token is None:
        return (-(2**62), 0)
    try:
        kind, ts, row_id = base64.urlsafe_b64decode(token.encode()).decode().split("/")
        if kind == "filter":
            return (int(ts), int(row_id))
    except (ValueError, UnicodeDecodeError):
        pass
    raise InvalidParameterException("The specified nextToken is invalid.")


def _limit(request: dict[str, Any], default: int, maximum: int) -> int:
    value = request.get("limit", default)
    if not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidParameterException(
            f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: "
            f"Member must have value less than or equal to {maximum}"
        )
    return value


#: the logs database's file name in a data directory
LOGS_DB = "logs.sqlite3"
#: how long the logs store's writer lets a batch gather before it commits (``Store(commit_delay=)``):
#: no client waits on a log commit, and under the seed's load commits went from ~0.3 to ~0.06 per
#: execution in the Express worker, its CPU per execution from ~470-510 to ~400 us (in process, two
#: interleaved runs each); the cost is up to 2 ms more before a line is readable
COMMIT_DELAY = 0.002


def _open(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None, timeout=30)


def adopt_logs(store: Store, old: Path) -> int:
    """Move the logs tables an older layout kept in ``old`` (the main database) into ``store``.

    Runs at start-up, before anything writes logs; returns how many events moved (0 when there is
    nothing to move, or when they moved already). ``logs_schema.adopt`` says how a crash midway is
    made harmless.
    """
    if not old.exists():
        return 0
    db = _open(store.path)
    try:
        db.execute("ATTACH DATABASE ? AS old", (str(old),))
        return logs_schema.adopt(db, str(old.resolve()))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot move the logs out of {old}: {exc}") from None
    finally:
        db.close()


class Logs:
    """Log groups, streams and events, stored in their own database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(logs_schema.upgrade)
        #: (group, stream) -> (group id, stream id), known on the writer thread; a stale entry (the
        #: stream was deleted, by this process or another) matches no row and is looked up again
        self._ids: dict[tuple[str, str], tuple[int, int]] = {}
        #: rows put to a stream whose append op is queued but has not run yet
        self._pending: dict[tuple[str, str], list[tuple[str, str, int, str]]] = {}
        self._pending_lock = threading.Lock()

    # -- the runtime's own writes -----------------------------------------------------------------
    def put(self, group: str, stream: str, events: Iterable[tuple[int, str]]) -> None:
        """Append events (epoch ms, message) to a stream, creating group and stream as needed.

        Non-blocking: the rows join the store's next group commit, in call order.
        """
        rows = [(group, stream, int(ts), msg) for ts, msg in events]
        if not rows:
            return
        key = (group, stream)
        with self._pending_lock:
            queued = self._pending.get(key)
            if queued is not None:  # its op has not run: these rows ride along
                queued.extend(rows)
                return
            self._pending[key] = rows
        taken: list[tuple[str, str, int, str]] = []

        def append(db: sqlite3.Connection) -> None:
            if not taken:  # first run (a group that failed re-runs its ops one by one)
                with self._pending_lock:
                    taken.extend(self._pending.pop(key))
            self._append(db, group, stream, taken)

        self.store.write_nowait(append)

    async def barrier(self) -> None:
        """Wait until every log event put before this call is committed (back-pressure, tests)."""
        await self.store.barrier()

    def ensure_group(self, name: str) -> None:
        """Create a log group if it does not exist (log groups declared in the template)."""
        self.store.write_nowait(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO logs_groups (name, created) VALUES (?, ?)", (name, _now_ms())
            )
        )

    def _append(
        self, db: sqlite3.Connection, group: str, stream: str, rows: Sequence[tuple[str, str, int, str]]
    ) -> None:
        """Append rows to a stream (writer thread): the stream's range, then the events."""
        now = _now_ms()
        first = min(r[2] for r in rows)
        last = max(r[2] for r in rows)
        update = (
            "UPDATE logs_streams SET first_event = min(coalesce(first_event, ?), ?),"
            " last_event = max(coalesce(last_event, ?), ?), last_ingestion = ?"
            " WHERE id = ? AND name = ? AND group_id = (SELECT id FROM logs_groups WHERE name = ?)"
        )
        ids = self._ids.get((group, stream))
        changes = (first, first, last, last, now)
        if ids is None or not db.execute(update, (*changes, ids[1], stream, group)).rowcount:
            ids = self._ensure(db, group, stream, now)
            db.execute(update, (*changes, ids[1], stream, group))
        group_id, stream_id = ids
        db.executemany(
            "INSERT INTO logs_events (group_id, stream_id, ts, ingestion, message) VALUES (?, ?, ?, ?, ?)",
            [(group_id, stream_id, ts, now, m) for _g, _s, ts, m in rows],
        )

    def _ensure(self, db: sqlite3.Connection, group: str, stream: str, now: int) -> tuple[int, int]:
        """The ids of a group and stream, created as needed (writer thread)."""
        db.execute("INSERT OR IGNORE INTO logs_groups (name, created) VALUES (?, ?)", (group, now))
        group_id = db.execute("SELECT id FROM logs_groups WHERE name = ?", (group,)).fetchone()[0]
        db.execute(
            "INSERT OR IGNORE INTO logs_streams (group_id, name, created) VALUES (?, ?, ?)",
            (group_id, stream, now),
        )
        stream_id = db.execute(
            "SELECT id FROM logs_streams WHERE group_id = ? AND name = ?", (group_id, stream)
        ).fetchone()[0]
        if len(self._ids) > 10_000:
            self._ids.clear()
        ids = self._ids[(group, stream)] = (int(group_id), int(stream_id))
        return ids

    # -- API: Logs_20140328.* ---------------------------------------------------------------------
    def _require_group(self, name: Any) -> str:
        if not isinstance(name, str) or not name:
            raise InvalidParameterException("1 validation error detected: Value null at 'logGroupName' "
                                            "failed to satisfy constraint: Member must not be null")
        exists = self.store.read(
            lambda db: db.execute("SELECT 1 FROM logs_groups WHERE name = ?", (name,)).fetchone()
        )
        if not exists:
            raise ResourceNotFoundException("The specified log group does not exist.")
        return name

    def _require_stream(self, request: dict[str, Any]) -> tuple[str, str]:
        group = self._require_group(request.get("logGroupName"))
        stream = request.get("logStreamName")
        exists = isinstance(stream, str) and self.store.read(
            lambda db: db.execute(
                "SELECT 1 FROM logs_streams WHERE group_id = (SELECT id FROM logs_groups WHERE name = ?)"
                " AND name = ?", (group, stream)
            ).fetchone()
        )
        if not exists:
            raise ResourceNotFoundException("The specified log stream does not exist.")
        return group, str(stream)

    async def create_log_group(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateLogGroup."""
        name = request.get("logGroupName")
        if not isinstance(name, str) or not re.fullmatch(r"[\.\-_/#A-Za-z0-9]{1,512}", name):
            raise InvalidParameterException(f"Invalid log group name: {name!r}")

        def create(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "INSERT OR IGNORE INTO logs_groups (name, created) VALUES (?, ?)", (name, _now_ms())
            )
            return cur.rowcount == 1

        if not await self.store.write(create):
            raise ResourceAlreadyExistsException("The specified log group already exists")
        return {}

    async def delete_log_group(self, request: dict[str, Any]) -> dict[str, Any]:
        """DeleteLogGroup."""
        name = self._require_group(request.get("logGroupName"))

        def delete(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT id FROM logs_groups WHERE name = ?", (name,)).fetchone()
            if row is not None:
                db.execute("DELETE FROM logs_events WHERE group_id = ?", row)
                db.execute("DELETE FROM logs_streams WHERE group_id = ?", row)
                db.execute("DELETE FROM logs_groups WHERE id = ?", row)

        await self.store.write(delete)
        return {}

    async def create_log_stream(self, request: dict[str, Any]) -> dict[str, Any]:
        """CreateLogStream."""
        group = self._require_group(request.get("logGroupName"))
        stream = request.get("logStreamName")
        if not isinstance(stream, str) or not stream or ":" in stream or "*" in stream:
            raise InvalidParameterException(f"Invalid log stream name: {stream!r}")

        def create(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "INSERT OR IGNORE INTO logs_streams (group_id, name, created)"
                " SELECT id, ?, ? FROM logs_groups WHERE name = ?",
                (stream, _now_ms(), group),
            )
            return cur.rowcount == 1

        if not await self.store.write(create):
            raise ResourceAlreadyExistsException("The specified log stream already exists")
        return {}

    async def put_log_events(self, request: dict[str, Any]) -> dict[str, Any]:
        """PutLogEvents: the stream must exist, as on AWS."""
        group, stream = self._require_stream(request)
        events = request.get("logEvents") or []
        rows = [(group, stream, int(e["timestamp"]), str(e["message"])) for e in events]
        if rows:
            await self.store.write(lambda db: self._append(db, group, stream, rows))
        return {"nextSequenceToken": _token("seq", _now_ms())}

    async def describe_log_groups(self, request: dict[str, Any]) -> dict[str, Any]:
        """DescribeLogGroups, by prefix or pattern, paged by name."""
        limit = _limit(request, 50, 50)
        prefix = request.get("logGroupNamePrefix") or ""
        pattern = request.get("logGroupNamePattern") or ""
        after = request.get("nextToken")
        start = base64.urlsafe_b64decode(after.encode()).decode() if after else ""

        def query(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT g.name, g.created, g.retention_days,"
                " (SELECT coalesce(sum(length(e.message)), 0) FROM logs_events e WHERE e.group_id = g.id)"
                " FROM logs_groups g WHERE g.name >= ? AND substr(g.name, 1, ?) = ? AND instr(g.name, ?) > 0"
                " ORDER BY g.name LIMIT ?",
                (start, len(prefix), prefix, pattern, limit + 1),
            ).fetchall()

        rows = self.store.read(query)
        groups = []
        for name, created, retention, stored in rows[:limit]:
            group: dict[str, Any] = {
                "logGroupName": name,
                "creationTime": created,
                "metricFilterCount": 0,
                "arn": _group_arn(name),
                "storedBytes": stored,
                "logGroupClass": "STANDARD",
                "logGroupArn": _group_arn(name)[:-2],
            }
            if retention:
                group["retentionInDays"] = retention
            groups.append(group)
        result: dict[str, Any] = {"logGroups": groups}
        if len(rows) > limit:
            result["nextToken"] = base64.urlsafe_b64encode(rows[limit][0].encode()).decode()
        return result

    async def describe_log_streams(self, request: dict[str, Any]) -> dict[str, Any]:
        """DescribeLogStreams, ordered by name or by last event time."""
        group = self._require_group(request.get("logGroupName"))
        limit = _limit(request, 50, 50)
        prefix = request.get("logStreamNamePrefix") or ""
        order = request.get("orderBy", "LogStreamName")
        if order not in ("LogStreamName", "LastEventTime"):
            raise InvalidParameterException(f"Invalid orderBy: {order}")
        if order == "LastEventTime" and prefix:
            raise InvalidParameterException("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(request.get("descending", False))
        offset = _untoken("streams", request.get("nextToken")) or 0
        key = "name" if order == "LogStreamName" else "coalesce(last_event, created)"
        direction = "DESC" if descending else "ASC"

        def query(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT name, created, first_event, last_event, last_ingestion FROM logs_streams"
                " WHERE group_id = (SELECT id FROM logs_groups WHERE name = ?) AND substr(name, 1, ?) = ?"
                f" ORDER BY {key} {direction}, name {direction}"
                " LIMIT ? OFFSET ?",
                (group, len(prefix), prefix, limit + 1, offset),
            ).fetchall()

        rows = self.store.read(query)
        streams = []
        for name, created, first, last, ingestion in rows[:limit]:
            stream: dict[str, Any] = {
                "logStreamName": name,
                "creationTime": created,
                "arn": arn("logs", f"log-group:{group}:log-stream:{name}"),
                "storedBytes": 0,
            }
            if first is not None:
                stream.update(firstEventTimestamp=first, lastEventTimestamp=last, lastIngestionTime=ingestion)
            streams.append(stream)
        result: dict[str, Any] = {"logStreams": streams}
        if len(rows) > limit:
            result["nextToken"] = _token("streams", offset + limit)
        return result

    async def get_log_events(self, request: dict[str, Any]) -> dict[str, Any]:
        """GetLogEvents: one stream, forward or backward, with AWS's f/ and b/ tokens."""
        group, stream = self._require_stream(request)
        limit = _limit(request, _PAGE_MAX, _PAGE_MAX)
        start = request.get("startTime") or 0
        end = request.get("endTime") or 2**62
        token = request.get("nextToken")
        if token:
            direction, _, raw = token.partition("/")
            try:
                cursor = int(raw)
            except ValueError:
                raise InvalidParameterException("The specified nextToken is invalid.") from None
            forward = direction == "f"
        else:
            forward = bool(request.get("startFromHead", False))
            cursor = 0 if forward else 2**62

        def query(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            stream_id = "(SELECT t.id FROM logs_streams t JOIN logs_groups g ON g.id = t.group_id" \
                " WHERE g.name = ? AND t.name = ?)"
            if forward:
                sql = (f"SELECT id, ts, ingestion, message FROM logs_events WHERE stream_id = {stream_id}"
                       " AND ts >= ? AND ts < ? AND id > ? ORDER BY id LIMIT ?")
            else:
                sql = (f"SELECT id, ts, ingestion, message FROM logs_events WHERE stream_id = {stream_id}"
                       " AND ts >= ? AND ts < ? AND id < ? ORDER BY id DESC LIMIT ?")
            return db.execute(sql, (group, stream, start, end, cursor, limit)).fetchall()

        rows = self.store.read(query)
        if not forward:
            rows.reverse()
        events = [{"timestamp": ts, "message": msg, "ingestionTime": ing} for _id, ts, ing, msg in rows]
        first_id = rows[0][0] if rows else cursor
        last_id = rows[-1][0] if rows else cursor
        return {
            "events": events,
            "nextForwardToken": f"f/{last_id if rows else cursor}",
            "nextBackwardToken": f"b/{first_id}",
        }

    async def filter_log_events(self, request: dict[str, Any]) -> dict[str, Any]:
        """FilterLogEvents across a group's streams, with a filter pattern, oldest first."""
        name = request.get("logGroupName") or _name_of(request.get("logGroupIdentifier"))
        group = self._require_group(name)
        limit = _limit(request, _PAGE_MAX, _PAGE_MAX)
        names: list[str] = list(request.get("logStreamNames") or [])
        prefix = request.get("logStreamNamePrefix") or ""
        if names and prefix:
            raise InvalidParameterException("Cannot specify both logStreamNames and logStreamNamePrefix.")
        matches = compile_filter_pattern(request.get("filterPattern"))
        start = request.get("startTime") or 0
        end = request.get("endTime") or 2**62
        # pages follow the order they are read in, (ts, id): a token carries both, since ids (arrival
        # order) and timestamps (the writer's clock) need not agree across streams
        after = _filter_cursor(request.get("nextToken"))
        sql = ("SELECT e.id, t.name, e.ts, e.ingestion, e.message FROM logs_events e"
               " JOIN logs_streams t ON t.id = e.stream_id"
               " WHERE e.group_id = (SELECT id FROM logs_groups WHERE name = ?) AND e.ts >= ?"
               " AND e.ts <= ? AND (e.ts, e.id) > (?, ?) AND substr(t.name, 1, ?) = ?")
        params: list[Any] = [group, start, end, *after, len(prefix), prefix]
        if names:
            sql += f" AND t.name IN ({','.join('?' * len(names))})"
            params += names
        sql += " ORDER BY e.ts, e.id LIMIT 10000"
        rows = self.store.read(lambda db: db.execute(sql, params).fetchall())
        events: list[dict[str, Any]] = []
        last = after
        for row_id, stream, ts, ingestion, message in rows:
            last = (ts, row_id)
            if matches(message):
                events.append({"logStreamName": stream, "timestamp": ts, "message": message,
                               "ingestionTime": ingestion, "eventId": str(row_id)})
                if len(events) >= limit:
                    break
        result: dict[str, Any] = {"events": events, "searchedLogStreams": []}
        if len(rows) == 10000 or (len(events) >= limit and last[1] != rows[-1][0]):
            result["nextToken"] = base64.urlsafe_b64encode(f"filter/{last[0]}/{last[1]}".encode()).decode()
        return result

    async def put_retention_policy(self, request: dict[str, Any]) -> dict[str, Any]:
        """PutRetentionPolicy (recorded; events are not expired locally)."""
        name = self._require_group(request.get("logGroupName"))
        days = request.get("retentionInDays")
        await self.store.write(
            lambda db: db.execute("UPDATE logs_groups SET retention_days = ? WHERE name = ?", (days, name))
        )
        return {}


def _name_of(identifier: Any) -> Any:
    """A ``logGroupIdentifier`` may be a name or an ARN (``arn:...:log-group:NAME[:*]``)."""
    if isinstance(identifier, str) and identifier.startswith("arn:"):
        name = identifier.split(":log-group:", 1)[-1]
        return name[:-2] if name.endswith(":*") else name
    return identifier
