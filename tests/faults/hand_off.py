"""Webhook load against a live server, cut by a signal, and the evidence that each accepted webhook
reached the processor Lambda (its ``Printing out the event {...}`` line in ``/aws/lambda/sample-func``).

Shared by the quick fault test (``test_hand_off_faults.py``) and the soak runs (``tests/soak``).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import LiveServer

LAMBDA_GROUP = "/aws/lambda/sample-func"
_MARKER = re.compile(r"'marker': '([\w-]+)'")


@dataclass
class Load:
    """What ``clients`` concurrent posters saw: markers answered 200, and everything else."""

    accepted: set[str] = field(default_factory=set)
    refused: dict[str, int] = field(default_factory=dict)
    refused_bodies: set[bytes] = field(default_factory=set)  #: the distinct bodies of those answers
    cut: int = 0  #: requests that got no answer (connection reset or closed by the signal)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_until(
    server: LiveServer, load: Load, stop: threading.Event, clients: int, prefix: str = "k"
) -> list[threading.Thread]:
    """Start ``clients`` threads, each POSTing unique webhooks (markers ``<prefix><client>-<n>``) on its
    own keep-alive connection until ``stop`` is set or the server goes away."""
    url = urlsplit(server.api_url())

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        i = 0
        while not stop.is_set():
            marker = f"{prefix}{k}-{i}"
            i += 1
            body = json.dumps({"order": i, "marker": marker})
            try:
                conn.request("POST", url.path, body=body, headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException):
                with load.lock:
                    load.cut += 1
                conn.close()
                if stop.is_set():
                    return
                time.sleep(0.05)
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                continue
            with load.lock:
                if response.status == 200:
                    load.accepted.add(marker)
                else:
                    load.refused[marker] = response.status
                    load.refused_bodies.add(answer)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def wait_accepted(load: Load, count: int, limit_s: float = 120) -> None:
    """Block until ``count`` webhooks were answered 200 (bounded by ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while len(load.accepted) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def post_burst(server: LiveServer, clients: int, count: int, prefix: str) -> Load:
    """``clients`` posters until ``count`` webhooks were answered 200, then stopped and joined."""
    load, stop = Load(), threading.Event()
    threads = post_until(server, load, stop, clients, prefix)
    wait_accepted(load, count)
    stop.set()
    for thread in threads:
        thread.join(60)
    return load


def processed_markers(server: LiveServer) -> set[str]:
    """Markers of every event the processor Lambda printed, from CloudWatch Logs over boto3."""
    logs = server.client("logs")
    found: set[str] = set()
    request: dict[str, Any] = {"logGroupName": LAMBDA_GROUP, "filterPattern": '"Printing out the event"'}
    try:
        while True:
            page = logs.filter_log_events(**request)
            for event in page["events"]:
                found.update(_MARKER.findall(event["message"]))
            if not page.get("nextToken"):
                return found
            request["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return found


def wait_processed(server: LiveServer, expected: set[str], limit_s: float = 180) -> set[str]:
    """Poll the Lambda's logs until every expected marker shows (bounded); returns what was found."""
    deadline = time.monotonic() + limit_s
    while True:
        done = processed_markers(server)
        if expected <= done or time.monotonic() > deadline:
            return done
        time.sleep(0.5)


def run_id() -> str:
    return uuid.uuid4().hex[:8]
