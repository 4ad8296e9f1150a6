"""``asyncgate executions`` and ``asyncgate history``: what ran, read from a live server's AWS APIs.

Why through the APIs and not the database: the commands work against any server (another port,
another machine, a running one whose SQLite file is busy), and they read exactly what boto3 and the
AWS console would — nothing local-only.

Express executions have no records in Step Functions (ListExecutions and GetExecutionHistory refuse
them, as on AWS); when their machine logs to CloudWatch Logs, both commands rebuild them from the
vended log events, as one would on AWS with Logs Insights. A machine with logging OFF keeps nothing
to show, and the command says so.

Example:
    >>> _duration(10.0, 12.5, now=0.0)
    '2.500s'
    >>> _shorten("x" * 80, 10)
    'xxxxxxxxx…'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["add_parsers", "run"]

_TARGETS = {"states": ("AWSStepFunctions", "1.0"), "logs": ("Logs_20140328", "1.1")}
_TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


class ApiError(Exception):
    """An AWS API error (or an unreachable server), worded for the terminal."""


def add_parsers(commands: Any, default_endpoint: str) -> None:
    """Add the ``executions`` and ``history`` subcommands to the ``asyncgate`` parser."""
    executions = commands.add_parser("executions", help="list recent executions with status and duration")
    executions.add_argument("--state-machine", help="only this state machine (name or ARN)")
    executions.add_argument("--status", choices=["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])
    executions.add_argument("--limit", type=int, default=20, help="per state machine (default 20)")
    executions.add_argument("--endpoint", default=default_endpoint)

    history = commands.add_parser("history", help="print an execution's history as a table")
    history.add_argument("execution_arn")
    history.add_argument("--endpoint", default=default_endpoint)


def run(args: argparse.Namespace) -> int:
    """Run ``executions`` or ``history``; 1 with a message on stderr when the server says no."""
    try:
        if args.command == "executions":
            _print_executions(args)
        else:
            _print_history(args)
    except ApiError as exc:
        print(f"asyncgate: {exc}", file=sys.stderr)
        return 1
    return 0


# -- the wire ---------------------------------------------------------------------------------------
def call(endpoint: str, service: str, action: str, request: dict[str, Any]) -> dict[str, Any]:
    """One JSON-protocol call (Step Functions or CloudWatch Logs) to the server."""
    prefix, version = _TARGETS[service]
    http_request = urllib.request.Request(
        endpoint.rstrip("/") + "/",
        data=json.dumps(request).encode(),
        headers={"X-Amz-Target": f"{prefix}.{action}", "Content-Type": f"application/x-amz-json-{version}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http_request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except urllib.error.HTTPError as exc:
        error = json.loads(exc.read() or b"{}")
        code = str(error.get("__type", exc.code)).rsplit("#", 1)[-1]
        raise ApiError(f"{code}: {error.get('message', '')}") from None
    except urllib.error.URLError as exc:
        raise ApiError(f"cannot reach {endpoint}: {exc.reason}") from None


def _pages(endpoint: str, service: str, action: str, request: dict[str, Any], key: str) -> Iterator[Any]:
    token = None
    while True:
        page = call(endpoint, service, action, {**request, **({"nextToken": token} if token else {})})
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


# -- executions -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Row:
    """One execution as the table shows it."""

    machine: str
    name: str
    status: str
    start: float
    stop: float | None


def _print_executions(args: argparse.Namespace) -> None:
    machines = list(_pages(args.endpoint, "states", "ListStateMachines", {}, "stateMachines"))
    if args.state_machine:
        machines = [m for m in machines if args.state_machine in (m["name"], m["stateMachineArn"])]
        if not machines:
            raise ApiError(f"StateMachineDoesNotExist: no state machine named {args.state_machine!r}")
    rows: list[Row] = []
    notes: list[str] = []
    for machine in machines:
        if machine["type"] == "EXPRESS":
            found, note = _express_rows(args.endpoint, machine, args.limit)
            rows += [r for r in found if args.status in (None, r.status)]
            if note:
                notes.append(note)
            continue
        request: dict[str, Any] = {"stateMachineArn": machine["stateMachineArn"], "maxResults": args.limit}
        if args.status:
            request["statusFilter"] = args.status
        page = call(args.endpoint, "states", "ListExecutions", request)
        rows += [
            Row(machine["name"], e["name"], e["status"], e["startDate"], e.get("stopDate"))
            for e in page["executions"]
        ]
    rows.sort(key=lambda r: r.start, reverse=True)
    now = time.time()
    table = [("STATE MACHINE", "EXECUTION", "STATUS", "STARTED (UTC)", "DURATION")]
    for r in rows:
        table.append((r.machine, r.name, r.status, _stamp(r.start), _duration(r.start, r.stop, now=now)))
    _print_table(table)
    for note in notes:
        print(note)


def _express_rows(endpoint: str, machine: dict[str, Any], limit: int) -> tuple[list[Row], str | None]:
    """Express executions rebuilt from the machine's vended log events (newest ``limit``)."""
    request = {"stateMachineArn": machine["stateMachineArn"]}
    described = call(endpoint, "states", "DescribeStateMachine", request)
    logging = described.get("loggingConfiguration") or {}
    group = _log_group(logging)
    if logging.get("level", "OFF") == "OFF" or group is None:
        return [], f"{machine['name']} is EXPRESS with logging OFF: its executions leave no record."
    started: dict[str, float] = {}
    ended: dict[str, tuple[str, float]] = {}
    for event in _pages(endpoint, "logs", "FilterLogEvents", {"logGroupName": group}, "events"):
        try:
            doc = json.loads(event["message"])
        except ValueError:
            continue
        arn, kind = doc.get("execution_arn"), doc.get("type")
        if not isinstance(arn, str) or f":{machine['name']}:" not in arn:
            continue
        stamp = int(doc.get("event_timestamp", event["timestamp"])) / 1000
        if kind == "ExecutionStarted":
            started[arn] = stamp
        elif kind in _TERMINAL:
            ended[arn] = (_TERMINAL[kind], stamp)
    rows = []
    for arn in set(started) | set(ended):
        status, stop = ended.get(arn, ("RUNNING", None))
        name = arn.split(":")[-2] if arn.count(":") >= 8 else arn
        rows.append(Row(machine["name"], name, status, started.get(arn, stop or 0.0), stop))
    rows.sort(key=lambda r: r.start, reverse=True)
    level = logging.get("level")
    note = None
    if level != "ALL":
        note = f"{machine['name']} is EXPRESS logging at {level}: only executions that level records show."
    return rows[:limit], note


def _log_group(logging: dict[str, Any]) -> str | None:
    for destination in logging.get("destinations") or []:
        arn = (destination.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn", "")
        if ":log-group:" in arn:
            return str(arn.split(":log-group:", 1)[1].removesuffix(":*"))
    return None


# -- history ----------------------------------------------------------------------------------------
def _print_history(args: argparse.Namespace) -> None:
    arn: str = args.execution_arn
    if ":express:" in arn:
        events = _express_history(args.endpoint, arn)
    else:
        events = list(_pages(args.endpoint, "states", "GetExecutionHistory", {"executionArn": arn}, "events"))
    if not events:
        raise ApiError(f"no history for {arn}")
    first = events[0]["timestamp"]
    table = [("ID", "AT (UTC)", "+ELAPSED", "TYPE", "STATE", "DETAILS")]
    for event in events:
        named = (v for k, v in event.items() if k.endswith("EventDetails"))
        details: dict[str, Any] = event.get("details") or next(named, {})
        table.append((
            str(event["id"]),
            _stamp(event["timestamp"]),
            f"{event['timestamp'] - first:.3f}s",
            event["type"],
            str(details.get("name", "")),
            _shorten(_summary(details), 60),
        ))
    _print_table(table)


def _express_history(endpoint: str, arn: str) -> list[dict[str, Any]]:
    """An Express execution's events from its machine's vended logs, shaped as GetExecutionHistory's."""
    parts = arn.split(":")
    machine_arn = ":".join([*parts[:5], "stateMachine", parts[6]])
    described = call(endpoint, "states", "DescribeStateMachine", {"stateMachineArn": machine_arn})
    group = _log_group(described.get("loggingConfiguration") or {})
    if group is None:
        raise ApiError(f"{parts[6]} is EXPRESS with logging OFF: its executions leave no history")
    events = []
    for event in _pages(endpoint, "logs", "FilterLogEvents", {"logGroupName": group}, "events"):
        try:
            doc = json.loads(event["message"])
        except ValueError:
            continue
        if doc.get("execution_arn") == arn:
            events.append({
                "id": int(doc["id"]),
                "type": doc["type"],
                "timestamp": int(doc["event_timestamp"]) / 1000,
                "details": doc.get("details") or {},
            })
    return sorted(events, key=lambda e: e["id"])


def _summary(details: dict[str, Any]) -> str:
    if "error" in details or "cause" in details:
        return " ".join(str(details[k]) for k in ("error", "cause") if details.get(k))
    for key in ("output", "input", "parameters", "resource"):
        if key in details:
            return f"{key}={details[key]}"
    return ""


# -- formatting -------------------------------------------------------------------------------------
def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _duration(start: float, stop: float | None, *, now: float) -> str:
    if stop is None:
        return f"{max(0.0, now - start):.1f}s (running)"
    return f"{stop - start:.3f}s"


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
