"""One SQLite database (WAL) for every piece of server state, with group commit.

Why hand-written: it is a thin policy layer over stdlib ``sqlite3``, not a data layer. All writes go
through one writer thread that drains a queue, runs every queued operation inside one transaction
(each under its own SAVEPOINT, so one failing operation fails alone), commits once, and only then
resolves the callers' futures. Many concurrent requests therefore share one fsync — the "group
commit" that lets the gateway acknowledge a webhook only after it is durable without paying a disk
flush per request. Reads use a per-thread connection; WAL lets them run beside the writer.

Start-up refuses a database it could not keep its promises on, with a one-line ``StoreError``: a
folder or file it cannot write (read-only mount, permissions), a disk with less than ``MIN_FREE_BYTES``
free or a file-size limit (``ulimit -f``) below it, and a database that fails SQLite's ``quick_check``
(corruption). Each is checked by doing it: the open ends with a committed write, so the first webhook
is not the first write to find out.

Fire-and-forget writes (``write_nowait``: history events, log lines) are the most frequent and
nobody awaits them, so they skip the per-write ``Future`` and wake-up: the event loop collects those
of one loop iteration and queues them as one *group* (``_Group``); any awaited write first queues the
collected group, so writes still reach the database in the order they were made. A group runs under
one savepoint; if one of its operations fails, the group is rolled back and re-run one savepoint per
operation, so the failing one fails alone, as it would have on its own.

The most frequent of those ops only insert rows (a history event and its checkpoint): they come as
``Inserts``, plain data the writer can see into, and a run of them in a group is written with one
``executemany`` per statement instead of one ``execute`` (and one Python call) per row — the same
inserts, in the same transaction, for a fraction of the writer's CPU.

Internals, in order, for one batch:
    1. block for the first queued item (then sleep ``commit_delay``, if the store has one), then take
       every other one already queued (up to 512);
    2. ``BEGIN IMMEDIATE``; for each: ``SAVEPOINT op``, run it, ``RELEASE`` (or roll back to it);
    3. ``COMMIT`` (one fsync of the WAL with ``synchronous=FULL``);
    4. hand each result or exception back: one ``call_soon_threadsafe`` per event loop per batch.

Example:
    >>> import asyncio, tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "db.sqlite")
    >>> store.migrate("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT)")
    >>> asyncio.run(store.write(lambda db: db.execute("INSERT INTO kv VALUES ('a', 'b')").rowcount))
    1
    >>> store.read(lambda db: db.execute("SELECT v FROM kv").fetchone()[0])
    'b'
    >>> store.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import resource
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["Inserts", "Store", "StoreError"]

T = TypeVar("T")
Operation = Callable[[sqlite3.Connection], Any]

_BATCH_MAX = 512
_STOP = object()
#: Room the database needs to grow (WAL, checkpoints) before the server accepts work.
MIN_FREE_BYTES = 8 * 1024 * 1024
_PROBE = """
CREATE TABLE IF NOT EXISTS store_opened (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL);
INSERT OR REPLACE INTO store_opened (id, at) VALUES (1, julianday('now'));
"""


class Inserts(tuple[tuple[str, tuple[Any, ...]], ...]):
    """A write op that only inserts rows: ``((statement, parameters), ...)``, run in that order.

    Called, it runs its statements one by one like any op. In a fire-and-forget group the writer
    instead collects the rows of consecutive ``Inserts`` by statement and runs each statement once
    with ``executemany`` (rows of one statement keep their order), before the group's next other op.
    So within a run of ``Inserts``, different statements must not write the same rows — in practice,
    each statement writes its own table (``sfn_history``, ``sfn_checkpoints``), where the order
    between tables changes nothing. A failing row fails the group, which is then re-run one op per
    savepoint as usual, so only the op holding that row is dropped.

    Example:
        >>> Inserts((("INSERT INTO kv VALUES (?, ?)", ("a", "b")),))[0][1]
        ('a', 'b')
    """

    __slots__ = ()

    def __call__(self, db: sqlite3.Connection) -> None:
        for statement, parameters in self:
            db.execute(statement, parameters)


class _Group(list[Operation]):
    """Fire-and-forget operations of one event-loop iteration, queued as one item."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class _Waiter:
    """An awaited write's future and the event loop it belongs to."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


_Result = Future[Any] | _Waiter


class StoreError(Exception):
    """The database cannot be opened or written (read-only, full, corrupt)."""


def _check_room(folder: Path) -> None:
    """Refuse a folder with no room to grow the database: a full disk, or a small ``ulimit -f``."""
    try:
        stats = os.statvfs(folder)
    except OSError as exc:
        raise StoreError(f"cannot use {folder}: {exc.strerror or exc}") from None
    if stats.f_flag & os.ST_RDONLY:
        raise StoreError(f"{folder} is on a read-only file system")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"{folder} is not writable")
    free = stats.f_bavail * stats.f_frsize
    if free < MIN_FREE_BYTES:
        raise StoreError(f"no room in {folder}: {free} bytes free, at least {MIN_FREE_BYTES} needed")
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and limit < MIN_FREE_BYTES:
        raise StoreError(
            f"the file size limit (ulimit -f) is {limit} bytes, at least {MIN_FREE_BYTES} needed"
        )


class Store:
    """The server's database: durable group-committed writes, concurrent reads."""

    def __init__(self, path: Path, *, synchronous: str = "FULL", commit_delay: float = 0.0) -> None:
        """``commit_delay``: seconds the writer waits after the first write of a batch for others to
        join it; for a store nobody answers a client from (logs), fewer and larger commits."""
        self.path = path
        self._commit_delay = commit_delay
        #: commits so far (a batch that committed, or rolled back after a failure)
        self.commits = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {path.parent}: {exc.strerror or exc}") from None
        _check_room(path.parent)
        try:
            self._writer = self._connect()
            self._writer.execute(f"PRAGMA synchronous={synchronous}")
            mode = self._writer.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{path}: cannot use WAL journal (got {mode})")
            problems = [row[0] for row in self._writer.execute("PRAGMA quick_check(3)").fetchall()]
            if problems != ["ok"]:
                raise StoreError(f"database {path} is corrupt: {'; '.join(problems)}")
            self._writer.executescript(_PROBE)  # a committed write: read-only or full disks show now
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: ``write_nowait`` ops collected on the event loop's thread, queued once per iteration
        self._group = _Group()
        self._group_lock = threading.Lock()
        self._group_loop: asyncio.AbstractEventLoop | None = None
        self._local = threading.local()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="asyncgate-store", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        # SQLite opens every database file close-on-exec, so processes the server starts (Lambda
        # workers) inherit no descriptor of it (tests/faults/test_isolation.py checks /proc/self/fd).
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA busy_timeout=30000")
        return db

    # -- schema -------------------------------------------------------------------------------------
    def migrate(self, ddl: str | Callable[[sqlite3.Connection], None]) -> None:
        """Run DDL (``CREATE TABLE IF NOT EXISTS ...``) synchronously; services call it at start.

        A callable gets an autocommit connection of its own, for a migration that reads what is there
        before it changes it (its own ``BEGIN IMMEDIATE`` makes it one transaction).
        """
        db = self._connect()
        try:
            if callable(ddl):
                ddl(db)
            else:
                db.executescript(ddl)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot migrate {self.path}: {exc}") from exc
        finally:
            db.close()

    # -- writes -------------------------------------------------------------------------------------
    async def write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in the next group commit; returns once it is durable on disk."""
        return await self.write_future(op)

    def write_future(self, op: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """``write`` as a plain future of this event loop: ``asyncio.shield`` takes it without making
        a task, as it must for a coroutine."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._enqueue(op, _Waiter(loop, waiter))
        return waiter

    def write_nowait(self, op: Operation) -> None:
        """Queue ``op`` for the next group commit without waiting (logs, history events).

        On an event loop the op joins this iteration's group (queued at the end of the iteration, or
        before the next awaited write, whichever is first); elsewhere it is queued at once.
        """
        if self._closed:
            raise StoreError("store is closed")
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            with self._group_lock:
                group_loop = self._group_loop
                if group_loop is loop:
                    self._group.append(op)
                    return
                if group_loop is None:
                    self._group.append(op)
                    self._group_loop = loop
                    loop.call_soon(self._queue_group)
                    return
        self._queue_group()
        self._queue.put((op, None))

    def _queue_group(self) -> None:
        """Hand the collected fire-and-forget ops to the writer, as one item, in order."""
        with self._group_lock:
            group, self._group = self._group, _Group()
            self._group_loop = None
            if group:
                self._queue.put((group, None))

    def write_sync(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in the next group commit and block until durable (start-up, threads)."""
        result: T = self._submit(op).result()
        return result

    async def barrier(self) -> None:
        """Wait until every write queued before this call is committed."""
        await self.write(lambda db: None)

    def _submit(self, op: Operation) -> Future[Any]:
        fut: Future[Any] = Future()
        self._enqueue(op, fut)
        return fut

    def _enqueue(self, op: Operation, fut: _Result) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self._group:  # earlier fire-and-forget writes go first
            self._queue_group()
        self._queue.put((op, fut))

    # -- reads --------------------------------------------------------------------------------------
    def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read-only ``op`` on this thread's connection (sees every committed write)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            db.execute("PRAGMA query_only=1")
        return op(db)

    # -- lifecycle ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        self._queue_group()
        self._queue.put(_STOP)
        self._thread.join()
        self._writer.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[tuple[Operation, _Result | None]] = []
            item = self._queue.get()
            if self._commit_delay and item is not _STOP:
                time.sleep(self._commit_delay)
            while True:
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)
                if len(batch) >= _BATCH_MAX:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._commit(batch)
                self.commits += 1

    def _commit(self, batch: list[tuple[Operation, _Result | None]]) -> None:
        db = self._writer
        outcomes: list[tuple[_Result, bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for op, fut in batch:
                if isinstance(op, _Group):
                    self._run_group(db, op)
                    continue
                ok, result = _run_one(db, op)
                if fut is not None:
                    outcomes.append((fut, ok, result))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            error = StoreError(f"commit failed: {exc}")
            outcomes = [(fut, False, error) for _op, fut in batch if fut is not None]
        _resolve(outcomes)

    @staticmethod
    def _run_group(db: sqlite3.Connection, group: _Group) -> None:
        """Run fire-and-forget ops under one savepoint; on a failure, one savepoint each."""
        db.execute("SAVEPOINT grp")
        try:
            _run_all(db, group)
        except BaseException:
            db.execute("ROLLBACK TO grp")
            db.execute("RELEASE grp")
            for op in group:
                _run_one(db, op)  # nobody awaits these: a failing one is dropped alone
        else:
            db.execute("RELEASE grp")


def _run_all(db: sqlite3.Connection, group: _Group) -> None:
    """Run a group's ops in order, each run of ``Inserts`` as one ``executemany`` per statement."""
    pending: dict[str, list[tuple[Any, ...]]] = {}
    for op in group:
        if type(op) is Inserts:
            for statement, parameters in op:
                rows = pending.get(statement)
                if rows is None:
                    pending[statement] = [parameters]
                else:
                    rows.append(parameters)
            continue
        if pending:
            _insert_all(db, pending)
            pending = {}
        op(db)
    if pending:
        _insert_all(db, pending)


def _insert_all(db: sqlite3.Connection, pending: dict[str, list[tuple[Any, ...]]]) -> None:
    for statement, rows in pending.items():
        db.executemany(statement, rows)


def _resolve(outcomes: list[tuple[_Result, bool, Any]]) -> None:
    """Hand results back: a blocked thread's future at once, an event loop's waiters with one
    wake-up per loop for the whole batch (not one self-pipe write per write)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
    for fut, ok, value in outcomes:
        if isinstance(fut, _Waiter):
            by_loop.setdefault(fut.loop, []).append((fut.future, ok, value))
        else:
            _settle(fut, ok, value)
    for loop, settled in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
            loop.call_soon_threadsafe(_settle_all, settled)


def _settle_all(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for fut, ok, value in settled:
        _settle(fut, ok, value)


def _settle(fut: Future[Any] | asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():  # the caller was cancelled; its write is committed all the same
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


def _run_one(db: sqlite3.Connection, op: Operation) -> tuple[bool, Any]:
    """Run one op under its own savepoint: its failure is its caller's alone."""
    db.execute("SAVEPOINT op")
    try:
        result = op(db)
    except BaseException as exc:
        db.execute("ROLLBACK TO op")
        db.execute("RELEASE op")
        return False, exc
    db.execute("RELEASE op")
    return True, result
