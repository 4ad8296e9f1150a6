"""The store's promises: a write returns only once durable, many writers share one commit, one
failing operation fails alone, and a database that cannot be used is refused at open."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from asyncgate.local.store import Store, StoreError


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "db.sqlite3")
    s.migrate("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
    yield s
    s.close()


def test_write_is_visible_to_a_new_connection_when_it_returns(store: Store) -> None:
    asyncio.run(store.write(lambda db: db.execute("INSERT INTO t VALUES ('a', 1)")))
    other = sqlite3.connect(store.path)
    assert other.execute("SELECT v FROM t WHERE k = 'a'").fetchone() == (1,)


def test_concurrent_writes_are_grouped_into_few_commits(store: Store) -> None:
    commits: list[int] = []
    writer = store._writer
    writer.set_trace_callback(lambda sql: commits.append(1) if sql == "COMMIT" else None)

    async def many() -> None:
        await asyncio.gather(*(
            store.write(lambda db, i=i: db.execute("INSERT INTO t VALUES (?, ?)", (f"k{i}", i)))
            for i in range(500)
        ))

    asyncio.run(many())
    assert store.read(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0]) == 500
    assert len(commits) < 100  # one commit per batch, not per write


def test_with_a_commit_delay_writes_from_many_threads_share_a_commit(tmp_path: Path) -> None:
    """Threads writing one at a time (no event loop to group them) still share commits when the store
    lets a batch gather: 40 writes from 8 drifting writers made 20-26 commits without a delay."""
    import threading
    import time

    def committed(delay: float) -> int:
        store = Store(tmp_path / f"d{delay}.sqlite3", commit_delay=delay)
        store.migrate("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
        before = store.commits
        gate = threading.Barrier(8)

        def writer(n: int) -> None:
            gate.wait()
            for i in range(5):
                store.write_sync(lambda db, k=f"{n}-{i}": db.execute("INSERT INTO t VALUES (?, 1)", (k,)))
                time.sleep(0.001 * (n + 1))  # writers drift apart

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert store.read(lambda db: db.execute("SELECT count(*) FROM t").fetchone()[0]) == 40
        count = store.commits - before
        store.close()
        return count

    assert committed(0.05) <= 8  # each round of 8 writers gathers into one commit (5 rounds, with slack)


def test_one_failing_operation_does_not_undo_its_neighbours(store: Store) -> None:
    async def batch() -> list[object]:
        return await asyncio.gather(
            store.write(lambda db: db.execute("INSERT INTO t VALUES ('x', 1)")),
            store.write(lambda db: db.execute("INSERT INTO t VALUES ('x', 2)")),  # duplicate key
            store.write(lambda db: db.execute("INSERT INTO t VALUES ('y', 3)")),
            return_exceptions=True,
        )

    results = asyncio.run(batch())
    assert isinstance(results[1], sqlite3.IntegrityError)
    rows = store.read(lambda db: db.execute("SELECT k, v FROM t ORDER BY k").fetchall())
    assert rows == [("x", 1), ("y", 3)]


def test_fire_and_forget_writes_of_one_iteration_share_one_queue_item_and_keep_their_order(
    store: Store,
) -> None:
    savepoints: list[str] = []
    store._writer.set_trace_callback(
        lambda sql: savepoints.append(sql) if sql.startswith("SAVEPOINT") else None
    )

    async def writes() -> list[tuple[str, int]]:
        for i in range(50):
            store.write_nowait(lambda db, i=i: db.execute("INSERT INTO t VALUES (?, ?)", (f"n{i:02d}", i)))
        # an awaited write made after them is committed after them (it sees them)
        return await store.write(lambda db: db.execute("SELECT k, v FROM t ORDER BY k").fetchall())

    rows = asyncio.run(writes())
    assert rows == [(f"n{i:02d}", i) for i in range(50)]
    # the 50 ops under one savepoint, then the awaited read-after-write under its own
    assert savepoints == ["SAVEPOINT grp", "SAVEPOINT op"]


def test_a_failing_fire_and_forget_write_is_dropped_alone(store: Store) -> None:
    async def writes() -> None:
        store.write_nowait(lambda db: db.execute("INSERT INTO t VALUES ('x', 1)"))
        store.write_nowait(lambda db: db.execute("INSERT INTO t VALUES ('x', 2)"))  # duplicate key
        store.write_nowait(lambda db: db.execute("INSERT INTO t VALUES ('y', 3)"))
        await store.barrier()

    asyncio.run(writes())
    rows = store.read(lambda db: db.execute("SELECT k, v FROM t ORDER BY k").fetchall())
    assert rows == [("x", 1), ("y", 3)]


def test_fire_and_forget_writes_off_the_event_loop_are_committed(store: Store) -> None:
    store.write_nowait(lambda db: db.execute("INSERT INTO t VALUES ('z', 9)"))
    store.write_sync(lambda db: None)
    assert store.read(lambda db: db.execute("SELECT v FROM t").fetchall()) == [(9,)]


def test_corrupt_database_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open database"):
        Store(path)


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    s = Store(tmp_path / "db.sqlite3")
    s.close()
    with pytest.raises(StoreError):
        s.write_nowait(lambda db: None)
