"""``GET /_asyncgate/metrics``: Prometheus text whose counters move when requests happen.

Behaviour tests against the live server (``conftest.server``): read the counters, make requests,
read them again and check the differences — never absolute values (the session's other tests count
into the same server), never timings.
"""

from __future__ import annotations

import json
import re
import time

from asyncgate.local.metrics import Metrics

from .conftest import LiveServer

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def scrape(server: LiveServer) -> dict[str, float]:
    status, headers, body = server.request("GET", f"{server.endpoint}/_asyncgate/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("#") or not line:
            continue
        found = _SAMPLE.match(line)
        assert found, f"not exposition format: {line!r}"
        samples[found.group(1)] = float(found.group(2))
    return samples


def wait_for(server: LiveServer, name: str, at_least: float, timeout: float = 30) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(server)
        if samples.get(name, 0) >= at_least or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def test_webhooks_move_the_counters(server: LiveServer) -> None:
    before = scrape(server)
    completed = 'asyncgate_executions_completed_total{status="SUCCEEDED"}'
    for i in range(3):
        status, _, body = server.request("POST", server.api_url(), json.dumps({"n": i}).encode(),
                                         {"Content-Type": "application/json"})
        assert (status, json.loads(body)) == (200, {"status": "webhook submitted"})
    after = wait_for(server, completed, before.get(completed, 0) + 3)

    def moved(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert moved('asyncgate_executions_started_total{type="EXPRESS"}') >= 3
    assert moved(completed) >= 3
    assert moved("asyncgate_lambda_invocations_total") >= 3
    assert moved('asyncgate_http_requests_total{code="200"}') >= 4  # 3 webhooks + the first scrape
    assert moved("asyncgate_http_request_duration_seconds_count") >= 4
    assert moved("asyncgate_execution_duration_seconds_count") >= 3
    assert after['asyncgate_http_request_duration_seconds_bucket{le="+Inf"}'] == \
        after["asyncgate_http_request_duration_seconds_count"]


def test_errors_are_counted_by_status(server: LiveServer) -> None:
    before = scrape(server)
    status, _, _ = server.request("GET", f"{server.endpoint}/restapis/nope/main/_user_request_/")
    assert status == 403
    after = scrape(server)
    assert after.get('asyncgate_http_requests_total{code="403"}', 0) - \
        before.get('asyncgate_http_requests_total{code="403"}', 0) == 1


def test_boto3_starts_are_counted(server: LiveServer) -> None:
    sfn = server.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="metrics-pass",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn="arn:aws:iam::000000000000:role/r",
    )["stateMachineArn"]
    before = scrape(server)
    arn = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    name = 'asyncgate_executions_completed_total{status="SUCCEEDED"}'
    after = wait_for(server, name, before.get(name, 0) + 1)
    assert sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED"
    assert after['asyncgate_executions_started_total{type="STANDARD"}'] - \
        before.get('asyncgate_executions_started_total{type="STANDARD"}', 0) >= 1


def test_histogram_buckets_are_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.00005, 0.0003, 0.002, 0.2, 1000.0):
        metrics.http_duration.observe(seconds)
    buckets = [int(line.rsplit(" ", 1)[1]) for line in metrics.render().splitlines()
               if line.startswith("asyncgate_http_request_duration_seconds_bucket")]
    assert buckets == sorted(buckets)
    assert buckets[0] == 1 and buckets[-1] == 5
