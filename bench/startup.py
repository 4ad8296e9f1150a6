"""Start-up and memory: ``asyncgate up`` ready time with a cached synth, and RSS after 100k executions.

Ready time is from process spawn to the first ``200`` of ``/_asyncgate/health`` (the runtime has
registered every resource and recovery has run), with ``cdk.out`` already synthesized for the app's
current files — the case of every test session after the first. Median of ``starts`` fresh starts.

Memory: 100,000 Express executions of a Pass machine started through the Step Functions JSON API
(raw HTTP, 32 connections, as boto3 would send them), all completed, then the VmRSS of the server
process plus its Express worker process (which ran them; Lambda workers are the functions' own).
Express executions keep nothing in memory once ended, so the figure shows leaks, not data.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

from .cpu import kinds
from .loadgen import request_bytes, run_load
from .servers import asyncgate_up, client, rss_mb, wait_metric

__all__ = ["run"]

_PASS = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


def _ready(starts: int) -> list[float]:
    times = []
    for _ in range(starts):
        with asyncgate_up() as served:
            times.append(served.ready_s)
    return times


def _runtime_rss_mb(server_pid: int) -> float:
    """RSS of the server and its Express worker (not of the Lambda workers)."""
    return sum(rss_mb(pid) for pid, kind in kinds(server_pid).items() if kind in ("server", "Express worker"))


def _rss_after(executions: int) -> dict[str, float]:
    with asyncgate_up() as served:
        sfn = client("stepfunctions", served.endpoint)
        arn = sfn.create_state_machine(
            name="bench-rss", definition=_PASS, type="EXPRESS", roleArn="arn:aws:iam::000000000000:role/bench"
        )["stateMachineArn"]
        idle = _runtime_rss_mb(served.process.pid)
        request = request_bytes(
            "POST",
            "/",
            json.dumps({"stateMachineArn": arn, "input": "{}"}).encode(),
            {"X-Amz-Target": "AWSStepFunctions.StartExecution", "Content-Type": "application/x-amz-json-1.0"},
        )
        started = time.perf_counter()
        result = asyncio.run(run_load("127.0.0.1", served.port, request, 32, 600, limit=executions))
        wait_metric(served.endpoint, 'asyncgate_executions_started_total{type="EXPRESS"}', executions)
        wait_metric(served.endpoint, 'asyncgate_executions_completed_total{status="SUCCEEDED"}', executions)
        elapsed = time.perf_counter() - started
        return {
            "executions": result.statuses.get(200, 0),
            "idle_mb": idle,
            "rss_mb": _runtime_rss_mb(served.process.pid),
            "seconds": elapsed,
            "starts_per_s": result.rps,
        }


def run(starts: int = 5, executions: int = 100_000) -> dict[str, Any]:
    times = _ready(starts)
    return {"ready_s": statistics.median(times), "ready_all": times, **_rss_after(executions)}


def main() -> None:
    result = run()
    print(
        f"start-up: ready in {result['ready_s']:.3f} s median (cached synth; "
        f"{', '.join(f'{t:.3f}' for t in result['ready_all'])})"
    )
    print(
        f"memory: {result['rss_mb']:.1f} MB RSS after {result['executions']} executions "
        f"({result['idle_mb']:.1f} MB idle; {result['starts_per_s']:.0f} StartExecution/s)"
    )


if __name__ == "__main__":
    main()
