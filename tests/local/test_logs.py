"""CloudWatch Logs as the runtime stores it: ordering, paging tokens, filter patterns and AWS's
errors (shapes from the CloudWatch Logs API reference)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.errors import (
    InvalidParameterException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from asyncgate.local.log_filters import compile_filter_pattern
from asyncgate.local.logs import Logs, adopt_logs
from asyncgate.local.store import Store


@pytest.fixture
def logs(tmp_path: Path) -> Logs:
    store = Store(tmp_path / "db.sqlite3")
    yield Logs(store)
    store.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_put_keeps_order_and_creates_group_and_stream(logs: Logs) -> None:
    logs.put("/g", "s", [(1000 + i, f"m{i}") for i in range(5)])
    run(logs.store.barrier())
    forward = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "startFromHead": True}))
    assert [e["message"] for e in forward["events"]] == [f"m{i}" for i in range(5)]
    streams = run(logs.describe_log_streams({"logGroupName": "/g"}))["logStreams"]
    assert streams[0]["logStreamName"] == "s"
    assert (streams[0]["firstEventTimestamp"], streams[0]["lastEventTimestamp"]) == (1000, 1004)


def test_get_log_events_pages_backward_from_the_end(logs: Logs) -> None:
    logs.put("/g", "s", [(1000 + i, f"m{i}") for i in range(5)])
    run(logs.store.barrier())
    page = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "limit": 2}))
    assert [e["message"] for e in page["events"]] == ["m3", "m4"]
    older = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "limit": 2,
                                     "nextToken": page["nextBackwardToken"]}))
    assert [e["message"] for e in older["events"]] == ["m1", "m2"]
    newer = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s",
                                     "nextToken": page["nextForwardToken"]}))
    assert newer["events"] == []


def test_filter_log_events_across_streams(logs: Logs) -> None:
    logs.put("/g", "a", [(1, "ERROR one"), (3, "INFO two")])
    logs.put("/g", "b", [(2, "ERROR three")])
    run(logs.store.barrier())
    found = run(logs.filter_log_events({"logGroupName": "/g", "filterPattern": "ERROR"}))
    assert [(e["logStreamName"], e["message"]) for e in found["events"]] == [("a", "ERROR one"),
                                                                             ("b", "ERROR three")]


def test_filter_log_events_pages_in_time_order_when_ids_are_not(logs: Logs) -> None:
    logs.put("/g", "late", [(100 + i, f"late{i}") for i in range(5)])  # arrive first, stamped later
    logs.put("/g", "early", [(1 + i, f"early{i}") for i in range(10)])
    run(logs.store.barrier())
    seen: list[str] = []
    request: dict[str, Any] = {"logGroupName": "/g", "limit": 4}
    while True:
        page = run(logs.filter_log_events(request))
        seen += [e["message"] for e in page["events"]]
        if "nextToken" not in page:
            break
        request["nextToken"] = page["nextToken"]
    assert seen == [f"early{i}" for i in range(10)] + [f"late{i}" for i in range(5)]


#: the first layout's tables, as the runtime wrote them before events named their stream by id
_FIRST_LAYOUT = """
CREATE TABLE logs_groups (name TEXT PRIMARY KEY, created INTEGER NOT NULL, retention_days INTEGER);
CREATE TABLE logs_streams (grp TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
    first_event INTEGER, last_event INTEGER, last_ingestion INTEGER, PRIMARY KEY (grp, name));
CREATE TABLE logs_events (id INTEGER PRIMARY KEY, grp TEXT NOT NULL, stream TEXT NOT NULL,
    ts INTEGER NOT NULL, ingestion INTEGER NOT NULL, message TEXT NOT NULL);
CREATE INDEX logs_events_by_stream ON logs_events (grp, stream, ts, id);
CREATE INDEX logs_events_by_group ON logs_events (grp, ts, id);
INSERT INTO logs_groups VALUES ('/g', 1, 7), ('/h', 2, NULL);
INSERT INTO logs_streams VALUES ('/g', 's', 1, 1000, 1002, 5), ('/g', 't', 1, 999, 999, 5),
    ('/h', 's', 2, 2000, 2000, 6);
INSERT INTO logs_events VALUES (1, '/g', 's', 1000, 5, 'm0'), (2, '/g', 't', 999, 5, 't0'),
    (3, '/g', 's', 1002, 5, 'm2'), (4, '/h', 's', 2000, 6, 'h0'), (5, '/g', 's', 1001, 5, 'm1');
"""


def _first_layout(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(_FIRST_LAYOUT)
    db.close()


def _moved_intact(logs: Logs) -> None:
    """What ``_FIRST_LAYOUT`` holds, read back through the API, then appended to."""
    page = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "startFromHead": True}))
    assert [e["message"] for e in page["events"]] == ["m0", "m2", "m1"]  # arrival order, as before
    found = run(logs.filter_log_events({"logGroupName": "/g"}))["events"]
    assert [(e["logStreamName"], e["message"]) for e in found] == [("t", "t0"), ("s", "m0"), ("s", "m1"),
                                                                    ("s", "m2")]
    streams = run(logs.describe_log_streams({"logGroupName": "/g"}))["logStreams"]
    assert [(s["logStreamName"], s["firstEventTimestamp"], s["lastEventTimestamp"]) for s in streams] == [
        ("s", 1000, 1002), ("t", 999, 999)]
    groups = run(logs.describe_log_groups({}))["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays"), g["storedBytes"]) for g in groups] == [
        ("/g", 7, 8), ("/h", None, 2)]
    logs.put("/g", "s", [(1003, "m3")])
    run(logs.barrier())
    page = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "startFromHead": True}))
    assert [e["message"] for e in page["events"]] == ["m0", "m2", "m1", "m3"]


def test_logs_kept_in_the_main_database_by_an_older_layout_move_to_their_own(tmp_path: Path) -> None:
    _first_layout(tmp_path / "asyncgate.sqlite3")
    main, store = Store(tmp_path / "asyncgate.sqlite3"), Store(tmp_path / "logs.sqlite3")
    try:
        logs = Logs(store)
        assert adopt_logs(store, main.path) == 5
        assert adopt_logs(store, main.path) == 0  # once
        _moved_intact(logs)
        tables = "SELECT name FROM sqlite_master WHERE name LIKE 'logs_%'"
        assert main.read(lambda db: db.execute(tables).fetchall()) == []
    finally:
        main.close()
        store.close()


def test_a_logs_database_of_the_first_layout_is_upgraded_in_place(tmp_path: Path) -> None:
    _first_layout(tmp_path / "logs.sqlite3")
    store = Store(tmp_path / "logs.sqlite3")
    try:
        _moved_intact(Logs(store))
        Logs(store)  # opening again changes nothing
        count = store.read(lambda db: db.execute("SELECT count(*) FROM logs_events").fetchone())
        assert count == (6,)
        leftovers = "SELECT name FROM sqlite_master WHERE name LIKE '%_v1'"
        assert store.read(lambda db: db.execute(leftovers).fetchall()) == []
    finally:
        store.close()


def test_a_deleted_stream_is_made_again_by_the_next_put(logs: Logs) -> None:
    """The writer remembers stream ids; a stream deleted with its group must not swallow later lines."""
    logs.put("/g", "s", [(1000, "before")])
    run(logs.barrier())
    run(logs.delete_log_group({"logGroupName": "/g"}))
    run(logs.create_log_group({"logGroupName": "/other"}))
    run(logs.create_log_stream({"logGroupName": "/other", "logStreamName": "s"}))
    logs.put("/g", "s", [(2000, "after")])
    run(logs.barrier())
    page = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "startFromHead": True}))
    assert [e["message"] for e in page["events"]] == ["after"]
    other = run(logs.get_log_events({"logGroupName": "/other", "logStreamName": "s", "startFromHead": True}))
    assert other["events"] == []


def test_errors_are_aws_errors(logs: Logs) -> None:
    with pytest.raises(ResourceNotFoundException, match=r"The specified log group does not exist\."):
        run(logs.describe_log_streams({"logGroupName": "/missing"}))
    run(logs.create_log_group({"logGroupName": "/x"}))
    with pytest.raises(ResourceAlreadyExistsException):
        run(logs.create_log_group({"logGroupName": "/x"}))
    with pytest.raises(InvalidParameterException):
        run(logs.describe_log_groups({"limit": 51}))


@pytest.mark.parametrize(("pattern", "message", "expected"), [
    ("", "anything", True),
    ("ERROR", "an ERROR here", True),
    ("ERROR", "an error here", False),
    ('"timed out"', "Task timed out after", True),
    ("ERROR -retry", "ERROR then retry", False),
    ("?ERROR ?WARN", "WARN only", True),
    ("{ $.type = \"ExecutionStarted\" }", '{"type": "ExecutionStarted"}', True),
    ("{ $.type = \"ExecutionStarted\" }", '{"type": "ExecutionSucceeded"}', False),
    ("{ $.n > 2 }", '{"n": 3}', True),
    ("{ $.n > 2 }", "not json", False),
])
def test_filter_patterns(pattern: str, message: str, expected: bool) -> None:
    assert compile_filter_pattern(pattern)(message) is expected
