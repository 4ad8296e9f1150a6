"""What a waiting Standard execution costs: start N executions that each enter a year-long Wait, and
print the start rate, the memory per waiting execution, and how long a restart takes to resume them all.

Run: ``.venv/bin/python -m bench.waiting [N]`` (default 5000). Not a test: it prints figures.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from asyncgate.local.logs import Logs
from asyncgate.local.states.service import StatesService
from asyncgate.local.store import Store

YEAR = json.dumps({"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 31536000, "End": True}}})
ROLE = "arn:aws:iam::000000000000:role/bench"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def start_all(db: Path, n: int) -> tuple[float, float]:
    store = Store(db)
    svc = StatesService(store, Logs(store), None)
    created = await svc.create_state_machine({"name": "year", "definition": YEAR, "roleArn": ROLE})
    arn = created["stateMachineArn"]
    before = rss_mb()
    began = time.perf_counter()
    await asyncio.gather(*(svc.start_execution({"stateMachineArn": arn}) for _ in range(n)))
    await asyncio.sleep(0.5)  # let each reach its Wait
    await store.barrier()
    elapsed = time.perf_counter() - began
    grown = rss_mb() - before
    await svc.close()
    await store.barrier()
    store.close()
    return elapsed, grown


async def resume_all(db: Path) -> float:
    store = Store(db)
    svc = StatesService(store, Logs(store), None)
    began = time.perf_counter()
    await svc.start()
    await asyncio.sleep(0)
    elapsed = time.perf_counter() - began
    await svc.close()
    store.close()
    return elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    db = Path(tempfile.mkdtemp()) / "bench.sqlite3"
    elapsed, grown = asyncio.run(start_all(db, n))
    print(f"{n} Standard executions started into a one-year Wait in {elapsed:.2f} s "
          f"({n / elapsed:,.0f} starts/s, durable)")
    print(f"peak RSS grew {grown:.1f} MB: ~{grown * 1024 / n:.1f} KB per waiting execution")
    resumed = asyncio.run(resume_all(db))
    print(f"restart: {n} executions resumed from their histories in {resumed:.2f} s")


if __name__ == "__main__":
    main()
