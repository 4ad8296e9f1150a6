"""API: boto3 StartExecution and DescribeExecution over HTTP against ``asyncgate up``, one at a time.

What a user's test suite pays per call: botocore's serialization and signing, a keep-alive HTTP round
trip on 127.0.0.1, and the server's work (StartExecution on a STANDARD machine commits the execution
row and its first event before it answers). Median and p99 over ``count`` sequential calls each, after
a warm-up. For scale, the same DescribeExecution call against the bare ASGI app (``servers.bare_app``,
which answers every request with a canned 200 at once): what botocore and the HTTP round trip cost
with no server work at all.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .loadgen import percentile
from .servers import asyncgate_up, bare_asgi, client

__all__ = ["run"]


def run(count: int = 1000) -> dict[str, Any]:
    """Latencies (ms) of StartExecution and DescribeExecution, and of botocore alone for scale."""
    with asyncgate_up() as served:
        sfn = client("stepfunctions", served.endpoint)
        arn = sfn.create_state_machine(
            name="bench-api",
            roleArn="arn:aws:iam::000000000000:role/bench",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        timings: dict[str, list[float]] = {"StartExecution": [], "DescribeExecution": []}
        arns = []
        for timed in (False, True):
            for _ in range(count if timed else 100):
                t = time.perf_counter()
                execution = sfn.start_execution(stateMachineArn=arn, input='{"order": 42}')["executionArn"]
                if timed:
                    timings["StartExecution"].append(time.perf_counter() - t)
                arns.append(execution)
            for execution in arns[-(count if timed else 100) :]:
                t = time.perf_counter()
                sfn.describe_execution(executionArn=execution)
                if timed:
                    timings["DescribeExecution"].append(time.perf_counter() - t)
    floor = timings["floor: DescribeExecution to a bare ASGI 200"] = []
    with bare_asgi() as bare:
        sfn = client("stepfunctions", bare.endpoint)
        for i in range(count + 100):
            t = time.perf_counter()
            sfn.describe_execution(executionArn=arns[i % len(arns)])
            if i >= 100:
                floor.append(time.perf_counter() - t)
    return {
        op: {"p50_ms": percentile(v, 50) * 1000, "p99_ms": percentile(v, 99) * 1000, "count": len(v)}
        for op, v in timings.items()
    }


def main() -> None:
    result = run()
    print("API: boto3 over HTTP, sequential")
    for op, row in result.items():
        print(
            f"  {op:44s} median {row['p50_ms']:6.3f} ms  p99 {row['p99_ms']:6.3f} ms  ({row['count']} calls)"
        )


if __name__ == "__main__":
    main()
