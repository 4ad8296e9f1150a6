"""Long fault runs (``make soak``): several SIGKILLs in a row on one data directory, a disk that fills
up under load, and a 400 MB stdout flood. Every webhook answered 200 must reach the processor Lambda
in the end.

Bounded: a fixed number of rounds and webhooks, each wait capped; all traffic to 127.0.0.1.
"""

from __future__ import annotations

import resource
import signal
import threading
import time

import pytest

from tests.conftest import LiveServer, StartServer
from tests.faults.conftest import fault_server
from tests.faults.hand_off import Load, post_until, wait_accepted, wait_processed
from tests.faults.test_lambda_faults import faulty, flood

__all__ = ["fault_server", "faulty"]  # the fault tests' fixtures, used here too

pytestmark = pytest.mark.soak

CLIENTS = 16


def _loaded(
    server: LiveServer, until: int, prefix: str = "k"
) -> tuple[Load, threading.Event, list[threading.Thread]]:
    load = Load()
    stop = threading.Event()
    threads = post_until(server, load, stop, CLIENTS, prefix)
    wait_accepted(load, until)
    return load, stop, threads


def _stop(stop: threading.Event, threads: list[threading.Thread]) -> None:
    stop.set()
    for thread in threads:
        thread.join(60)


def test_five_kill_9s_in_a_row_lose_no_accepted_webhook(start_server: StartServer) -> None:
    accepted: set[str] = set()
    cut = 0
    server = start_server()
    for round_ in range(5):
        load, stop, threads = _loaded(server, 1500, prefix=f"r{round_}k")
        server.stop(signal.SIGKILL)
        _stop(stop, threads)
        accepted |= load.accepted
        cut += load.cut
        assert not load.refused, load.refused
        server = start_server(data_dir=server.data_dir)
    done = wait_processed(server, accepted, limit_s=600)
    missing = accepted - done
    print(f"5 x SIGKILL: {len(accepted)} answered 200, {cut} cut, {len(missing)} missing")
    assert missing == set()


def test_a_disk_that_fills_under_load_loses_no_accepted_webhook(start_server: StartServer) -> None:
    """Mid-load the server's file-size limit drops to what its files hold (RLIMIT_FSIZE via prlimit: the
    disk is full for it). Webhooks it cannot make durable are refused, not acknowledged; it keeps
    answering; after a restart with room again, every 200 reaches the Lambda."""
    server = start_server()
    load, stop, threads = _loaded(server, 500)
    wal = server.data_dir / "asyncgate.sqlite3-wal"
    size = max(wal.stat().st_size, (server.data_dir / "asyncgate.sqlite3").stat().st_size)
    resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (size, size))
    full_since = len(load.accepted)
    time.sleep(3)  # load against the full disk (bounded)
    health = server.request("GET", f"{server.endpoint}/_asyncgate/health")[0]
    _stop(stop, threads)
    refused = dict(load.refused)
    server.stop(signal.SIGKILL)
    accepted = set(load.accepted)
    print(f"disk full: {len(accepted)} answered 200 ({len(accepted) - full_since} after the limit), "
          f"{len(refused)} refused with {sorted(set(refused.values()))}, {load.cut} cut; health {health}")
    # the sample API's 5xx integration response (asyncgate/cdk/api.py), as API Gateway would select it
    assert load.refused_bodies == {b'{"status": "webhook failed"}'}, load.refused_bodies
    assert health == 200
    assert refused, "the full disk refused nothing"
    assert set(refused.values()) <= {500, 503}, refused
    again = start_server(data_dir=server.data_dir)
    done = wait_processed(again, accepted, limit_s=300)
    assert accepted - done == set(), f"{len(accepted - done)} accepted webhooks never reached the Lambda"


def test_a_400_mb_stdout_flood_does_not_grow_the_server(fault_server: LiveServer, faulty: str) -> None:
    before, after, answers = flood(fault_server, 6400, 300_000)
    print(f"400 MB flood: server RSS {before:.0f} MB -> {after:.0f} MB; {answers} health answers meanwhile")
    assert after - before < 150, f"server RSS grew {after - before:.0f} MB"
