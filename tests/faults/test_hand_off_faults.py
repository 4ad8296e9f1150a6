"""The hand-off under a signal: 16 clients post webhooks to the seed endpoint of a live server, the
server gets SIGKILL (or SIGTERM) while requests are in flight, ``asyncgate up`` starts again on the same
``--data-dir``, and every webhook that was answered 200 reaches the processor Lambda — its marker is in
``/aws/lambda/sample-func`` (asynchronous Express is at-least-once: duplicates are allowed, loss is not).

This complements ``tests/states/test_service_crash.py`` (300 webhooks all answered, then SIGKILL, evidence
in the vended state logs): here the signal lands during the load, so some requests are cut without an
answer, and the evidence is the Lambda's own output. Longer and repeated runs are in ``tests/soak``.
"""

from __future__ import annotations

import signal
import threading

import pytest

from tests.conftest import StartServer
from tests.faults.hand_off import Load, post_until, wait_accepted, wait_processed

CLIENTS = 16


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_every_200_reaches_the_lambda_after_a_signal_under_load(start_server: StartServer, sig: int) -> None:
    server = start_server()
    load = Load()
    stop = threading.Event()
    threads = post_until(server, load, stop, CLIENTS)
    wait_accepted(load, 400)
    server.stop(sig)  # requests are in flight: each client is mid-request or about to send one
    stop.set()
    for thread in threads:
        thread.join(60)
    accepted = set(load.accepted)
    assert len(accepted) >= 400, (len(accepted), load.cut, load.refused)
    assert not load.refused, f"webhooks refused before the signal: {load.refused}"

    again = start_server(data_dir=server.data_dir)
    done = wait_processed(again, accepted)
    print(f"{signal.Signals(sig).name}: {len(accepted)} answered 200, {load.cut} cut without an answer, "
          f"{len(accepted - done)} of the 200s missing from the Lambda's log after restart")
    assert accepted - done == set(), f"{len(accepted - done)} accepted webhooks never reached the Lambda"
