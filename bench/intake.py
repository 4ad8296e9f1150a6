"""Intake and end to end: the seed's endpoint under load, beside a bare ASGI app on the same HTTP server.

Intake: closed-loop load at 1..32 keep-alive connections, for the bare ASGI app (``servers.bare_app``)
and for the sample API's stage on ``asyncgate up`` — each ``200`` is a webhook whose Express start
was group-committed before the answer. At 32 connections: req/s ratio, p50/p99.

End to end: after the 32-connection run, wait until ``asyncgate_executions_completed_total`` has
moved by the number of acknowledged webhooks (every ack completed, none failed), then count the
handler's ``Printing out the event`` lines in its log group through the Logs API. The sustained rate
is webhooks / (first request -> last execution completed).

The same figures feed the latency-against-load chart (``report.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from .cpu import Split
from .loadgen import LoadResult, request_bytes, run_load
from .servers import Served, asyncgate_up, bare_asgi, client, scrape, wait_idle, wait_metric

__all__ = ["CONNECTIONS", "run"]

CONNECTIONS = (1, 4, 8, 16, 32)
BODY = json.dumps({"order": 42, "note": "it's here"}).encode()
_COMPLETED = 'asyncgate_executions_completed_total{status="SUCCEEDED"}'
_FAILED = 'asyncgate_executions_completed_total{status="FAILED"}'


def _load(served: Served, path: str, connections: int, seconds: float) -> LoadResult:
    request = request_bytes("POST", path, BODY, {"Content-Type": "application/json"})
    return asyncio.run(run_load("127.0.0.1", served.port, request, connections, seconds))


def _row(result: LoadResult) -> dict[str, float]:
    return {
        "connections": result.connections,
        "rps": result.rps,
        "p50_ms": result.p(50),
        "p99_ms": result.p(99),
        "requests": result.requests,
        "ok": result.statuses.get(200, 0),
        "errors": result.errors + result.requests - result.statuses.get(200, 0),
    }


def _count_log_lines(served: Served, group: str, needle: str) -> int:
    logs = client("logs", served.endpoint)
    count, token = 0, None
    while True:
        request: dict[str, Any] = {"logGroupName": group, "filterPattern": f'"{needle}"', "limit": 10000}
        if token:
            request["nextToken"] = token
        page = logs.filter_log_events(**request)
        count += len(page["events"])
        token = page.get("nextToken")
        if not token:
            return count


def run(step_seconds: float = 3.0, main_seconds: float = 10.0) -> dict[str, Any]:
    """Both curves, the 32-connection comparison and the end-to-end figures."""
    out: dict[str, Any] = {"bare": [], "seed": []}
    with bare_asgi() as bare:
        _load(bare, "/", 32, 1.0)  # warm-up
        for n in CONNECTIONS:
            out["bare"].append(_row(_load(bare, "/", n, main_seconds if n == 32 else step_seconds)))
    with asyncgate_up() as served:
        path = served.api_path()
        _load(served, path, 32, 1.0)  # warm-up: Lambda workers, caches
        for n in CONNECTIONS[:-1]:
            out["seed"].append(_row(_load(served, path, n, step_seconds)))
        wait_idle(served.endpoint)  # the earlier steps' executions end first: the deltas are this run's
        before = scrape(served.endpoint)
        lines_before = _count_log_lines(served, "/aws/lambda/sample-func", "Printing out the event")
        started = time.perf_counter()
        split = Split(served.process.pid)
        split.start()
        result = _load(served, path, 32, main_seconds)
        split.stop()
        acked = result.statuses.get(200, 0)
        out["seed"].append(_row(result))
        finished = wait_metric(served.endpoint, _COMPLETED, before.get(_COMPLETED, 0) + acked)
        after = scrape(served.endpoint)
        lines = _count_log_lines(served, "/aws/lambda/sample-func", "Printing out the event")
        out["e2e"] = {
            "acked": acked,
            "completed": after.get(_COMPLETED, 0) - before.get(_COMPLETED, 0),
            "failed": after.get(_FAILED, 0) - before.get(_FAILED, 0),
            "load_s": result.seconds,
            "drain_s": finished - started - result.seconds,
            "rate": acked / (finished - started),
            "handler_log_lines": lines - lines_before,
        }
        out["cpu"] = split.rows(max(1, result.requests))
    bare32, seed32 = out["bare"][-1], out["seed"][-1]
    out["ratio"] = seed32["rps"] / bare32["rps"] if bare32["rps"] else 0.0
    return out


def main() -> None:
    result = run()
    print("intake: POST the seed's webhook vs a bare ASGI 200, same uvicorn settings")
    for name in ("bare", "seed"):
        for row in result[name]:
            print(
                f"  {name:5s} {row['connections']:3d} conns  {row['rps']:8.0f} req/s  "
                f"p50 {row['p50_ms']:6.2f} ms  p99 {row['p99_ms']:7.2f} ms  non-200 {row['errors']}"
            )
    print(f"  ratio at 32 connections: {result['ratio']:.3f}x of bare")
    e2e = result["e2e"]
    print(
        f"end to end: {e2e['acked']} acked, {e2e['completed']:.0f} completed, {e2e['failed']:.0f} failed, "
        f"{e2e['handler_log_lines']} handler log lines; drained {e2e['drain_s']:.2f} s after the load; "
        f"{e2e['rate']:.0f} webhooks/s fully processed"
    )
    for row in result["cpu"]:
        print(f"  cpu  {row['process']:16s} {row['cores']:5.2f} cores  "
              f"{row['us_per_request']:6.0f} us/webhook")


if __name__ == "__main__":
    main()
