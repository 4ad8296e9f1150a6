"""The pending-start rows of webhooks the Express worker ran are deleted once it reports them done.

The server deletes the rows of every execution one worker frame reports in one statement; a row left
behind would make a restart run its webhook a second time (``recovery.py``), so after a burst the
table must drain to nothing, and the webhooks must each have run once.
"""

from __future__ import annotations

import sqlite3
import time

from tests.conftest import StartServer
from tests.faults.hand_off import post_burst, processed_markers, wait_processed


def pending_rows(db_path: str) -> list[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as db:
        return [row[0] for row in db.execute("SELECT input FROM sfn_pending_starts")]


def test_a_burst_of_webhooks_leaves_no_pending_row(start_server: StartServer) -> None:
    server = start_server()
    load = post_burst(server, clients=16, count=400, prefix="rows")
    assert not load.refused, load.refused
    accepted = set(load.accepted)
    assert len(accepted) >= 400
    done = wait_processed(server, accepted)
    assert accepted - done == set(), f"{len(accepted - done)} of {len(accepted)} never reached the Lambda"
    db_path = str(server.data_dir / "asyncgate.sqlite3")
    deadline = time.monotonic() + 60
    while pending_rows(db_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert pending_rows(db_path) == []
    assert "the Express worker exited" not in server.output()  # the worker ran them, not a fallback
    assert len(processed_markers(server) & accepted) == len(accepted)
