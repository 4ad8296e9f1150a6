"""The hand-off survives ``kill -9``: every webhook the gateway answered 200 for is executed, after a
restart if need be (asynchronous Express is at-least-once).

Driven as a user would: HTTP POSTs to the sample app's API on a live ``asyncgate up``, SIGKILL while
executions are in flight, ``asyncgate up`` again on the same ``--data-dir``, then CloudWatch Logs
through boto3. Evidence per webhook: an ``ExecutionSucceeded`` vended event for an execution whose
``ExecutionStarted`` input carries the webhook's marker. (The service queues an execution's vended
events before it forgets the execution's pending start, in one FIFO of group commits, so a finished
execution always left its events behind.)
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.conftest import LiveServer, StartServer

STATES_GROUP = "/aws/vendedlogs/states/sample"


def vended(server: LiveServer) -> list[dict[str, Any]]:
    logs = server.client("logs")
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": STATES_GROUP}
    while True:
        page = logs.filter_log_events(**kwargs)
        found += [json.loads(e["message"]) for e in page["events"]]
        if not page.get("nextToken"):
            return found
        kwargs["nextToken"] = page["nextToken"]


def finished_markers(server: LiveServer, run: str) -> set[str]:
    events = vended(server)
    succeeded = {e["execution_arn"] for e in events if e["type"] == "ExecutionSucceeded"}
    markers: set[str] = set()
    for e in events:
        if e["type"] == "ExecutionStarted" and e["execution_arn"] in succeeded:
            payload = json.loads(e["details"]["input"])
            if isinstance(payload, dict) and payload.get("run") == run:
                markers.add(payload["marker"])
    return markers


def test_every_accepted_webhook_runs_after_kill_9(start_server: StartServer) -> None:
    server = start_server()
    run = uuid.uuid4().hex
    url = server.api_url()

    def post(i: int) -> tuple[int, str]:
        body = json.dumps({"run": run, "marker": f"m{i}"}).encode()
        status, _, _ = server.request("POST", url, body=body, headers={"Content-Type": "application/json"})
        return status, f"m{i}"

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(post, range(300)))
    server.stop(signal.SIGKILL)  # at once: some executions are still queued or running
    accepted = {marker for status, marker in answers if status == 200}
    assert len(accepted) == 300, answers

    again = start_server(data_dir=server.data_dir)
    deadline = time.monotonic() + 60
    while True:
        done = finished_markers(again, run)
        if accepted <= done or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert accepted - done == set(), f"{len(accepted - done)} accepted webhooks never ran"
