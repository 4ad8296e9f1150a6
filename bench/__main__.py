"""``make bench`` / ``python -m bench``: run every benchmark, print the figures, write docs/performance.md.

Each script measures what it compares in the same run (asyncgate beside a bare ASGI app, beside
moto), so the ratios hold on any machine; the absolute figures are this machine's, and the page says
which machine that was. ``--quick`` shortens every run (a smoke test of the bench, not figures to quote).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from . import api, engine, intake, report, startup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs; does not write the docs")
    args = parser.parse_args(argv)
    quick = args.quick
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    results: dict[str, Any] = {
        "intake": intake.run(step_seconds=1 if quick else 3, main_seconds=3 if quick else 10),
        "engine": engine.run(count=300 if quick else 2000, moto_count=50 if quick else 200),
        "api": api.run(count=200 if quick else 1000),
        "startup": startup.run(starts=2 if quick else 5, executions=5_000 if quick else 100_000),
    }
    results["load_before"], results["load_after"] = load_before, os.getloadavg()[0]
    text = report.render(results)
    print(text)
    if not quick:
        report.write(results, text)
        print(f"wrote docs/performance.md and docs/performance.png ({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
