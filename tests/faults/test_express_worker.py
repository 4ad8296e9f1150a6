"""The Express worker process (``asyncgate.local.express_worker``) under faults: killed under load it
loses no acknowledged webhook (the server starts another and hands over what was in flight), it does
not outlive a killed server, and ``--no-express-worker`` runs everything in the server as before."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.conftest import ASYNCGATE, REPO, StartServer, free_port
from tests.faults.hand_off import Load, post_burst, post_until, wait_accepted, wait_processed

CHILD = "asyncgate.local.express_worker.child"


def workers_of(pid: int) -> list[int]:
    """Live Express worker processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        state = stat.rsplit(")", 1)[1].split()[0]
        if ppid == pid and CHILD in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, limit_s: float = 30) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_worker_is_replaced_and_no_acknowledged_webhook_is_lost(start_server: StartServer) -> None:
    server = start_server()
    assert wait_for(lambda: len(workers_of(server.process.pid)) == 1)
    (first,) = workers_of(server.process.pid)
    load, stop = Load(), threading.Event()
    threads = post_until(server, load, stop, clients=8, prefix="w")
    wait_accepted(load, 200)
    os.kill(first, signal.SIGKILL)  # executions are in flight in it
    wait_accepted(load, len(load.accepted) + 200)  # and intake goes on meanwhile
    stop.set()
    for thread in threads:
        thread.join(60)
    assert not load.refused, load.refused
    assert wait_for(lambda: workers_of(server.process.pid) not in ([], [first]))
    accepted = set(load.accepted)
    done = wait_processed(server, accepted)
    assert accepted - done == set(), f"{len(accepted - done)} of {len(accepted)} never reached the Lambda"
    assert "the Express worker exited" in server.output()


def test_the_worker_does_not_outlive_a_killed_server(start_server: StartServer) -> None:
    server = start_server()
    assert wait_for(lambda: len(workers_of(server.process.pid)) == 1)
    (worker,) = workers_of(server.process.pid)
    server.stop(signal.SIGKILL)
    assert wait_for(lambda: not alive(worker))


def test_without_the_worker_the_server_runs_express_executions_itself(start_server: StartServer) -> None:
    server = start_server("--no-express-worker")
    load = post_burst(server, clients=2, count=20, prefix="n")
    assert workers_of(server.process.pid) == []
    accepted = set(load.accepted)
    assert accepted <= wait_processed(server, accepted)


def test_ctrl_c_to_the_process_group_stops_server_and_worker_cleanly(tmp_path: Path) -> None:
    """Ctrl-C in a terminal signals the whole foreground group; the worker, in a session of its own,
    is stopped by the server (no traceback, no replacement worker started during the shutdown)."""
    port = free_port()
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [str(ASYNCGATE), "up", str(REPO), "--port", str(port), "--data-dir", str(tmp_path / "data")],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not workers_of(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        while b"serving on" not in log_path.read_bytes() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers_of(process.pid), log_path.read_text()
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(30) in (0, 130)  # uvicorn ends with the signal's conventional status
    finally:
        if process.poll() is None:
            process.kill()
    output = log_path.read_text()
    assert "Traceback" not in output, output
    assert "starting another" not in output, output
