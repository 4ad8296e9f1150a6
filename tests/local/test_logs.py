"""CloudWatch Logs as the runtime stores it: ordering, paging tokens, filter patterns and AWS's
errors (shapes from the CloudWatch Logs API reference)."""

from __future__ import annotations

import asyncio
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


def test_logs_kept_in_the_main_database_by_an_older_layout_move_to_their_own(tmp_path: Path) -> None:
    old = Store(tmp_path / "asyncgate.sqlite3")
    Logs(old).put("/g", "s", [(1000 + i, f"m{i}") for i in range(3)])  # the old layout: same tables
    old.close()
    main, store = Store(tmp_path / "asyncgate.sqlite3"), Store(tmp_path / "logs.sqlite3")
    try:
        logs = Logs(store)
        assert adopt_logs(store, main.path) == 3
        assert adopt_logs(store, main.path) == 0  # once
        page = run(logs.get_log_events({"logGroupName": "/g", "logStreamName": "s", "startFromHead": True}))
        assert [e["message"] for e in page["events"]] == ["m0", "m1", "m2"]
        tables = "SELECT name FROM sqlite_master WHERE name LIKE 'logs_%'"
        assert main.read(lambda db: db.execute(tables).fetchall()) == []
    finally:
        main.close()
        store.close()


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
