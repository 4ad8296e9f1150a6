"""How a Standard execution's events reach the database: ``Inserts`` ops that the store writes a
group at a time with ``executemany``, rows and checkpoints as they always were, in order, and a
failing op still dropped alone."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.jsontext import spaced
from asyncgate.local.states.branch_path import END, inside, stamp
from asyncgate.local.states.executions import SCHEMA, insert_event
from asyncgate.local.states.recorder import HistoryEvent, Recorder
from asyncgate.local.store import Inserts, Store

ARN = "arn:aws:states:us-east-1:000000000000:execution:m:e"

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = Store(tmp_path / "db.sqlite3")
    s.migrate(SCHEMA)
    s.migrate("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER)")
    s.write_sync(lambda db: db.execute(  # the execution the events belong to
        "INSERT INTO sfn_executions (arn, machine_arn, revision_id, name, status, input, start_date)"
        " VALUES (?, 'm', 'r', 'e', 'RUNNING', '{}', 0)", (ARN,)))
    yield s
    s.close()


@settings(max_examples=300)
@given(values)
def test_spaced_is_json_dumps_keeping_non_ascii(value: Any) -> None:
    assert spaced(value) == json.dumps(value, ensure_ascii=False)


def _history(store: Store) -> list[tuple[Any, ...]]:
    return store.read(
        lambda db: db.execute(
            "SELECT id, previous_id, timestamp, type, details FROM sfn_history ORDER BY id"
        ).fetchall()
    )


def _checkpoints(store: Store) -> list[tuple[Any, ...]]:
    return store.read(
        lambda db: db.execute("SELECT event_id, output FROM sfn_checkpoints ORDER BY event_id").fetchall()
    )


def test_recorded_events_are_stored_as_rows_with_their_checkpoints(store: Store) -> None:
    async def record() -> None:
        recorder = Recorder(lambda: 1_700_000_000.5, [lambda e: store.write_nowait(insert_event(ARN, e))])
        recorder.append("PassStateEntered", {"name": "P", "input": '{"é":1}'})
        with inside((2, 0)):
            recorder.append("MapIterationStarted", {"name": "M", "index": 0})
            recorder.append("PassStateExited", {"name": "I", "output": "1"}, END)
        recorder.append("MapStateSucceeded")
        await store.barrier()

    asyncio.run(record())
    assert _history(store) == [
        (1, 0, 1_700_000_000.5, "PassStateEntered", '{"name": "P", "input": "{\\"é\\":1}"}'),
        (2, 1, 1_700_000_000.5, "MapIterationStarted", '{"name": "M", "index": 0}'),
        (3, 2, 1_700_000_000.5, "PassStateExited", '{"name": "I", "output": "1"}'),
        (4, 3, 1_700_000_000.5, "MapStateSucceeded", None),
    ]
    assert _checkpoints(store) == [(2, '{"in":[[2,0]]}'), (3, '{"in":[[2,0]],"end":true}')]


def test_a_group_of_inserts_is_one_executemany_per_statement_before_the_next_other_op(store: Store) -> None:
    statements: list[str] = []
    store._writer.set_trace_callback(statements.append)

    def event(i: int, checkpoint: str | None) -> Inserts:
        return insert_event(ARN, HistoryEvent(i, i - 1, float(i), "PassStateEntered", {"i": i}, checkpoint))

    async def writes() -> None:
        for i in range(1, 6):
            store.write_nowait(event(i, '{"in":[[1,0]]}' if i % 2 else None))
        store.write_nowait(lambda db: db.execute("INSERT INTO t VALUES ('after', 5)"))
        store.write_nowait(event(6, None))
        await store.barrier()

    asyncio.run(writes())
    store._writer.set_trace_callback(None)
    inserts = [s.split(" VALUES")[0] for s in statements if s.startswith("INSERT")]
    # executemany traces each row it runs; the rows of one statement come together, in order
    assert inserts == [
        *["INSERT OR REPLACE INTO sfn_history"] * 5,
        *["INSERT OR REPLACE INTO sfn_checkpoints"] * 3,
        "INSERT INTO t",
        "INSERT OR REPLACE INTO sfn_history",
    ]
    assert [row[0] for row in _history(store)] == [1, 2, 3, 4, 5, 6]
    assert [row[0] for row in _checkpoints(store)] == [1, 3, 5]


def test_a_later_insert_of_the_same_row_wins_as_it_would_one_by_one(store: Store) -> None:
    async def writes() -> None:
        store.write_nowait(insert_event(ARN, HistoryEvent(1, 0, 1.0, "PassStateEntered", {"v": 1})))
        store.write_nowait(insert_event(ARN, HistoryEvent(1, 0, 2.0, "PassStateEntered", {"v": 2})))
        await store.barrier()

    asyncio.run(writes())
    assert _history(store) == [(1, 0, 2.0, "PassStateEntered", '{"v": 2}')]


def test_a_failing_insert_in_a_group_is_dropped_alone(store: Store) -> None:
    add = "INSERT INTO t VALUES (?, ?)"

    async def writes() -> None:
        store.write_nowait(Inserts(((add, ("x", 1)),)))
        store.write_nowait(Inserts(((add, ("y", 2)), (add, ("x", 3)))))  # duplicate key: fails whole
        store.write_nowait(Inserts(((add, ("z", 4)),)))
        await store.barrier()

    asyncio.run(writes())
    rows = store.read(lambda db: db.execute("SELECT k, v FROM t ORDER BY k").fetchall())
    assert rows == [("x", 1), ("z", 4)]


def test_inserts_called_on_their_own_run_every_statement_in_order(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
    Inserts((("INSERT OR REPLACE INTO t VALUES (?, ?)", ("a", 1)),
             ("INSERT OR REPLACE INTO t VALUES (?, ?)", ("a", 2))))(db)
    assert db.execute("SELECT v FROM t").fetchall() == [(2,)]


def test_stamp_inside_nested_branches_names_the_whole_path() -> None:
    with inside((3, 1)), inside((7, 0)):
        assert stamp(None) == '{"in":[[3,1],[7,0]]}'
        assert stamp('{"output":[1]}') == '{"in":[[3,1],[7,0]],"output":[1]}'
        assert stamp("{}") == '{"in":[[3,1],[7,0]]}'
    assert stamp(None) is None and stamp('{"output":1}') == '{"output":1}'
