"""The secured app and the sample app on a live ``asyncgate up``: real HTTP calls, and the access
log read back with boto3's CloudWatch Logs client, as a user would."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import LiveServer, StartServer

from .secured_app import API_NAME, KEY


@pytest.fixture(scope="module")
def live(start_server: StartServer, secured_cdk_out: Path) -> LiveServer:
    return start_server("--assembly", str(secured_cdk_out))


def _request_id(headers: dict[str, str]) -> str:
    return next(v for k, v in headers.items() if k.lower() == "x-amzn-requestid")


def _events(server: LiveServer, prefix: str, request_id: str) -> list[dict[str, str]]:
    """The access log lines naming ``request_id`` in the group whose name starts with ``prefix``."""
    logs = server.client("logs")
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    group = next(g for g in groups if g.startswith(prefix))
    for _ in range(100):  # the store commits log writes in groups: poll until this one is in
        events = logs.filter_log_events(logGroupName=group)["events"]
        found = [json.loads(e["message"]) for e in events if request_id in e["message"]]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {request_id} in {group}")


def test_keys_and_authorizers_over_http(live: LiveServer) -> None:
    url = live.api_url(API_NAME)
    assert live.request("GET", url + "keyed")[0:3:2] == (403, b'{"message":"Forbidden"}')
    status, _, body = live.request("GET", url + "keyed", headers={"x-api-key": KEY})
    assert (status, json.loads(body)) == (200, {"ok": True})
    status, headers, body = live.request("GET", url + "token", headers={"Authorization": "deny-live"})
    assert status == 403 and json.loads(body) == {
        "Message": "User is not authorized to access this resource with an explicit deny"
    }
    status, headers, _ = live.request("GET", url + "token-mock", headers={"Authorization": "allow-live"})
    assert status == 200
    line = _events(live, "GwSecured-AccessLogs", _request_id(headers))[0]
    assert (line["status"], line["resourcePath"], line["httpMethod"]) == ("200", "/token-mock", "GET")


def test_the_sample_apps_stage_writes_its_access_log(server: LiveServer) -> None:
    status, headers, _ = server.request(
        "POST", server.api_url(), json.dumps({"id": 1}).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200
    line = _events(server, "AsyncGateSample-AsyncGateApiAccessLogs", _request_id(headers))[0]
    assert (line["status"], line["httpMethod"], line["resourcePath"]) == ("200", "POST", "/")
    assert line["ip"] == "127.0.0.1" and int(line["responseLength"]) > 0
