"""Standard history keyed by the execution's integer id (``executions.py``, ``schema.py``).

What must hold: a database the previous version wrote (history keyed by ARN) is moved at open, and
its histories read back and resume exactly as before; ids are never handed out twice, so events of
two executions never mix, not even when a name is reused or two stores in one process run the same
ARN.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from asyncgate.local.logs import Logs
from asyncgate.local.states.executions import (
    NAME_RETENTION_SECONDS,
    RUNNING_IDS,
    SCHEMA,
    Execution,
    ExecutionKind,
    ExecutionStatus,
    Outcome,
    finish_standard,
    insert_event,
    insert_standard,
    new_execution,
)
from asyncgate.local.states.machines import MachineRegistry
from asyncgate.local.states.queries import Queries
from asyncgate.local.states.recorder import HistoryEvent
from asyncgate.local.states.schema import VERSION, upgrade_db
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

ROLE = "arn:aws:iam::000000000000:role/r"
#: iterations one at a time, so a run's history is one order and a resumed one can be compared whole
MAP = json.dumps({"StartAt": "M", "States": {
    "M": {"Type": "Map", "MaxConcurrency": 1, "ItemsPath": "$.xs", "ResultPath": "$.ds", "Next": "E",
          "ItemProcessor": {"StartAt": "D", "States": {
              "D": {"Type": "Pass", "Parameters": {"d.$": "States.MathAdd($, $)"}, "End": True}}}},
    "E": {"Type": "Pass", "End": True},
}})
INPUT = '{"xs": [1, 2, 3, 4]}'

#: the first layout's Standard tables, as the previous version created them
FIRST_LAYOUT = """
CREATE TABLE sfn_executions (
    arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT,
    start_date REAL NOT NULL, stop_date REAL
);
CREATE INDEX sfn_executions_by_machine ON sfn_executions (machine_arn, start_date);
CREATE TABLE sfn_history (
    execution_arn TEXT NOT NULL, id INTEGER NOT NULL, previous_id INTEGER NOT NULL,
    timestamp REAL NOT NULL, type TEXT NOT NULL, details TEXT, PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
CREATE TABLE sfn_checkpoints (
    execution_arn TEXT NOT NULL, event_id INTEGER NOT NULL, output TEXT NOT NULL,
    PRIMARY KEY (execution_arn, event_id)
) WITHOUT ROWID;
CREATE TABLE sfn_pending_starts (
    arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, revision_id TEXT NOT NULL, name TEXT NOT NULL,
    input TEXT NOT NULL, start_date REAL NOT NULL
);
"""
_EXECUTION_COLUMNS = ("arn, machine_arn, revision_id, name, status, input, output, error, cause,"
                      " start_date, stop_date")


async def wait_done(svc: StatesService, arn: str) -> dict[str, Any]:
    for _ in range(1000):
        described = await svc.describe_execution({"executionArn": arn})
        if described["status"] != "RUNNING":
            return described
        await asyncio.sleep(0.01)
    raise AssertionError(f"{arn} still running")


def _reference_run(path: Path) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """A Map machine run to its end on this layout: (its ARN, DescribeExecution, its events)."""
    store = Store(path, synchronous="OFF")

    async def main() -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        svc = StatesService(store, Logs(store), None)
        machine = await svc.create_state_machine({"name": "m", "definition": MAP, "roleArn": ROLE})
        started = await svc.start_execution(
            {"stateMachineArn": machine["stateMachineArn"], "name": "ref", "input": INPUT})
        arn = started["executionArn"]
        described = await wait_done(svc, arn)
        events = (await svc.get_execution_history({"executionArn": arn}))["events"]
        await svc.close()
        return arn, described, events

    try:
        return asyncio.run(main())
    finally:
        store.close()


def _as_first_layout(path: Path, ref: str, cut: int) -> str:
    """Rewrite the database as the previous version would have left it: ``ref`` finished, and a copy
    of it started a second later, ``resumed``, interrupted after its event ``cut`` (RUNNING, history
    and checkpoints up to it). Returns the interrupted one's ARN. The rows go in neither in start nor
    in ARN order, so that only the move's order gives ``ref`` the lower id."""
    db = sqlite3.connect(path, isolation_level=None)
    execution = db.execute(f"SELECT {_EXECUTION_COLUMNS} FROM sfn_executions WHERE arn=?", (ref,)).fetchone()
    history = db.execute(
        "SELECT id, previous_id, timestamp, type, details FROM sfn_history ORDER BY id").fetchall()
    checkpoints = db.execute("SELECT event_id, output FROM sfn_checkpoints ORDER BY event_id").fetchall()
    db.executescript(
        "DROP TABLE sfn_executions; DROP TABLE sfn_history; DROP TABLE sfn_checkpoints;"
        " DROP TABLE sfn_pending_starts; DROP TABLE sfn_schema;" + FIRST_LAYOUT)
    interrupted = ref.rsplit(":", 1)[0] + ":resumed"
    rows = [(interrupted, *execution[1:3], "resumed", "RUNNING", execution[5], None, None, None,
             execution[9] + 1, None), execution]
    db.executemany("INSERT INTO sfn_executions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    for arn, last in ((ref, len(history)), (interrupted, cut)):
        db.executemany("INSERT INTO sfn_history VALUES (?, ?, ?, ?, ?, ?)",
                       [(arn, *event) for event in history if event[0] <= last])
        db.executemany("INSERT INTO sfn_checkpoints VALUES (?, ?, ?)",
                       [(arn, *saved) for saved in checkpoints if saved[0] <= last])
    db.close()
    return interrupted


def _rows(store: Store, sql: str) -> list[Any]:
    return store.read(lambda db: db.execute(sql).fetchall())


def _without_time(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in event.items() if k != "timestamp"} for event in events]


def test_a_first_layout_database_is_moved_at_open_and_reads_and_resumes_as_before(tmp_path: Path) -> None:
    path = tmp_path / "asyncgate.sqlite3"
    ref, described, events = _reference_run(path)
    assert described["status"] == "SUCCEEDED"
    types = [e["type"] for e in events]
    # interrupted inside the third iteration: two finished (their results only in checkpoints), one
    # whose Pass state was entered and not exited
    cut = [i for i, t in enumerate(types) if t == "MapIterationStarted"][2] + 2
    assert types[cut - 1] == "PassStateEntered"
    interrupted = _as_first_layout(path, ref, cut)

    store = Store(path, synchronous="OFF")

    async def reopen() -> tuple[Any, ...]:
        svc = StatesService(store, Logs(store), None)
        before = await svc.get_execution_history({"executionArn": interrupted})
        await svc.start()
        resumed = await wait_done(svc, interrupted)
        history = (await svc.get_execution_history({"executionArn": interrupted}))["events"]
        again = await svc.describe_execution({"executionArn": ref})
        back = await svc.get_execution_history({"executionArn": ref})
        reverse = await svc.get_execution_history({"executionArn": ref, "reverseOrder": True,
                                                   "maxResults": 5})
        await svc.close()
        return before["events"], resumed, history, again, back["events"], reverse["events"]

    try:
        before, resumed, history, again, back, reverse = asyncio.run(reopen())
        layout, version, ids, leftovers = (_rows(store, sql) for sql in (
            "SELECT name FROM pragma_table_info('sfn_history')",
            "SELECT version FROM sfn_schema",
            "SELECT id, name FROM sfn_executions ORDER BY id",
            "SELECT name FROM sqlite_master WHERE name LIKE '%_v1'",
        ))
    finally:
        store.close()
    # the finished execution reads back as it was written
    assert again == described
    assert back == events
    assert reverse == events[::-1][:5]
    # the interrupted one, before its resume, is what was recorded; after it, the uninterrupted run:
    # the finished iterations and the entered state are not run nor recorded again
    assert before == events[:cut]
    assert resumed["status"] == "SUCCEEDED" and resumed["output"] == described["output"]
    assert history[:cut] == events[:cut]
    assert _without_time(history) == _without_time(events)
    assert ("execution_id",) in layout and version == [(VERSION,)] and leftovers == []
    assert ids == [(1, "ref"), (2, "resumed")]  # in start order, as new starts are


def test_a_database_of_this_layout_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "asyncgate.sqlite3"
    ref, described, events = _reference_run(path)
    store = Store(path, synchronous="OFF")

    async def reopen() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        svc = StatesService(store, Logs(store), None)
        await svc.start()
        out = (await svc.describe_execution({"executionArn": ref}),
               (await svc.get_execution_history({"executionArn": ref}))["events"])
        await svc.close()
        return out

    try:
        assert asyncio.run(reopen()) == (described, events)
    finally:
        store.close()


def _store(path: Path) -> tuple[Store, Queries, Any]:
    store = Store(path, synchronous="OFF")
    store.migrate(SCHEMA)
    machines = MachineRegistry(store, lambda: 0.0)
    definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    machine = asyncio.run(machines.create({"name": "m", "definition": definition, "roleArn": ROLE}))
    return store, Queries(store, machines), machine


def _start(store: Store, machine: Any, name: str, now: float, text: str = "{}") -> Execution:
    execution = new_execution(machine, ExecutionKind.STANDARD, name, text, now)
    started = HistoryEvent(1, 0, now, *execution.started_event())
    assert store.write_sync(insert_standard(execution, started)) is None
    return execution


def _record(store: Store, execution: Execution, marks: list[str]) -> None:
    async def write() -> None:
        for i, mark in enumerate(marks, start=2):
            store.write_nowait(insert_event(execution.arn, HistoryEvent(i, i - 1, 0.0, "PassStateEntered",
                                                                        {"name": mark})))
        await store.barrier()

    asyncio.run(write())


def _marks(queries: Queries, arn: str) -> list[Any]:
    return [e.get("stateEnteredEventDetails", {}).get("name", e["type"])
            for e in queries.history(arn, {})["events"]]


def test_a_reused_name_gets_a_new_id_and_only_its_own_events(tmp_path: Path) -> None:
    """The 90-day reuse deletes the execution with the highest id; a plain rowid would hand that id
    to the new execution, AUTOINCREMENT never does."""
    store, queries, machine = _store(tmp_path / "db.sqlite3")
    try:
        first = _start(store, machine, "x", 0.0)
        second = _start(store, machine, "y", 0.0)
        _record(store, second, ["old"])
        for execution in (first, second):
            store.write_sync(finish_standard(execution.arn, Outcome(ExecutionStatus.SUCCEEDED, "{}"), 1.0))
        ids = "SELECT id, name FROM sfn_executions ORDER BY id"
        assert store.read(lambda db: db.execute(ids).fetchall()) == [(1, "x"), (2, "y")]

        again = _start(store, machine, "y", NAME_RETENTION_SECONDS + 2.0, '{"new": 1}')
        _record(store, again, ["new"])
        assert store.read(lambda db: db.execute(ids).fetchall()) == [(1, "x"), (3, "y")]
        assert _marks(queries, again.arn) == ["ExecutionStarted", "new"]
        assert queries.load(again.arn).input == '{"new": 1}'
        assert _marks(queries, first.arn) == ["ExecutionStarted"]
        orphans = "SELECT count(*) FROM sfn_history WHERE execution_id NOT IN (SELECT id FROM sfn_executions)"
        assert store.read(lambda db: db.execute(orphans).fetchone()) == (0,)
    finally:
        store.close()


def test_two_stores_running_one_arn_under_different_ids_keep_their_events_apart(tmp_path: Path) -> None:
    """Events name their execution by ARN; in one process, two databases (tests, a restart in
    process) can run the same ARN under different ids, and each event must land in its own."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, one_queries, one_machine = _store(tmp_path / "a" / "db.sqlite3")
    two, two_queries, two_machine = _store(tmp_path / "b" / "db.sqlite3")
    try:
        _start(one, one_machine, "pad", 0.0)
        here = _start(one, one_machine, "x", 0.0)  # id 2 in the first database
        there = _start(two, two_machine, "x", 0.0)  # id 1 in the second
        assert here.arn == there.arn and RUNNING_IDS.get(here.arn) is None  # ids disagree: look up
        _record(one, here, ["one-a"])
        _record(two, there, ["two-a"])
        two.write_sync(finish_standard(there.arn, Outcome(ExecutionStatus.SUCCEEDED, "{}"), 1.0))
        assert RUNNING_IDS.get(here.arn) == 2  # the one still running names its own id
        _record(one, here, ["one-a", "one-b"])
        one.write_sync(finish_standard(here.arn, Outcome(ExecutionStatus.SUCCEEDED, "{}"), 1.0))
        assert RUNNING_IDS.get(here.arn) is None
        assert _marks(one_queries, here.arn) == ["ExecutionStarted", "one-a", "one-b"]
        assert _marks(two_queries, there.arn) == ["ExecutionStarted", "two-a"]
        pad = _marks(one_queries, here.arn.rsplit(":", 1)[0] + ":pad")
        assert pad == ["ExecutionStarted"]
    finally:
        one.close()
        two.close()


def test_an_event_of_an_arn_with_no_execution_is_dropped_alone(tmp_path: Path) -> None:
    store, queries, machine = _store(tmp_path / "db.sqlite3")
    try:
        known = _start(store, machine, "x", 0.0)
        stray = new_execution(machine, known.kind, "never-started", "{}", 0.0)

        async def write() -> None:
            for arn, mark in ((stray.arn, "s"), (known.arn, "k")):
                event = HistoryEvent(2, 1, 0.0, "PassStateEntered", {"name": mark})
                store.write_nowait(insert_event(arn, event))
            await store.barrier()

        asyncio.run(write())
        assert _marks(queries, known.arn) == ["ExecutionStarted", "k"]
        count = store.read(lambda db: db.execute("SELECT count(*) FROM sfn_history").fetchone())
        assert count == (2,)
        store.write_sync(finish_standard(known.arn, Outcome(ExecutionStatus.SUCCEEDED, "{}"), 1.0))
    finally:
        store.close()


#: two executions of the first layout, written by hand: a finished one and one left running
HAND_ROWS = """
INSERT INTO sfn_executions VALUES
    ('arn:aws:states:us-east-1:000000000000:execution:m:b', 'arn:m', 'r1', 'b', 'RUNNING', '{}', NULL,
     NULL, NULL, 20.0, NULL),
    ('arn:aws:states:us-east-1:000000000000:execution:m:a', 'arn:m', 'r1', 'a', 'SUCCEEDED', '{}', '{}',
     NULL, NULL, 10.0, 11.0);
INSERT INTO sfn_history VALUES
    ('arn:aws:states:us-east-1:000000000000:execution:m:a', 1, 0, 10.0, 'ExecutionStarted',
     '{"input": "{}"}'),
    ('arn:aws:states:us-east-1:000000000000:execution:m:a', 2, 1, 11.0, 'ExecutionSucceeded', NULL),
    ('arn:aws:states:us-east-1:000000000000:execution:m:b', 1, 0, 20.0, 'ExecutionStarted',
     '{"input": "{}"}'),
    ('arn:aws:states:us-east-1:000000000000:execution:m:b', 2, 1, 21.0, 'MapIterationSucceeded',
     '{"index": 0}');
INSERT INTO sfn_checkpoints VALUES ('arn:aws:states:us-east-1:000000000000:execution:m:b', 2, '{"output":1}');
"""
_FIRST_LAYOUT_ROWS = (
    "SELECT h.execution_arn, h.id, h.previous_id, h.timestamp, h.type, h.details, c.output"
    " FROM sfn_history h LEFT JOIN sfn_checkpoints c"
    " ON c.execution_arn = h.execution_arn AND c.event_id = h.id ORDER BY h.execution_arn, h.id"
)
_THIS_LAYOUT_ROWS = (
    "SELECT e.arn, h.id, h.previous_id, h.timestamp, h.type, h.details, c.output"
    " FROM sfn_history h JOIN sfn_executions e ON e.id = h.execution_id LEFT JOIN sfn_checkpoints c"
    " ON c.execution_id = h.execution_id AND c.event_id = h.id ORDER BY e.arn, h.id"
)


def test_a_move_that_fails_half_way_leaves_the_first_layout_whole(tmp_path: Path) -> None:
    """The move is one transaction: stopped part way (as a kill -9 would stop it, or a full disk),
    nothing of it is left, and the next open moves the database whole."""
    path = tmp_path / "asyncgate.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(FIRST_LAYOUT + HAND_ROWS)
    before = db.execute(_FIRST_LAYOUT_ROWS).fetchall()
    tables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    first_tables = db.execute(tables).fetchall()
    copying: list[str] = []

    def note(statement: str) -> None:  # the move has renamed, created and copied the executions
        if statement.startswith("INSERT INTO sfn_history"):
            copying.append(statement)

    db.set_trace_callback(note)
    db.set_progress_handler(lambda: len(copying), 1)  # nonzero: interrupt the running statement
    try:
        upgrade_db(db)
    except sqlite3.OperationalError as exc:
        assert "interrupted" in str(exc)
    else:
        raise AssertionError("the move was not interrupted")
    assert copying
    db.set_trace_callback(None)
    db.set_progress_handler(None, 0)
    assert db.execute(tables).fetchall() == first_tables
    assert db.execute(_FIRST_LAYOUT_ROWS).fetchall() == before

    assert upgrade_db(db) is True
    assert upgrade_db(db) is False  # once
    assert db.execute(_THIS_LAYOUT_ROWS).fetchall() == before
    ids = db.execute("SELECT id, name, status FROM sfn_executions ORDER BY id").fetchall()
    assert ids == [(1, "a", "SUCCEEDED"), (2, "b", "RUNNING")]  # in start order
    db.close()
