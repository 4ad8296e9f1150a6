"""The seed's system end to end, through a live ``asyncgate up`` serving the sample app.

A client POSTs a payload; API Gateway renders the seed's request template, calls
``states:StartExecution`` with the integration's role and answers ``{"status": "webhook submitted"}``;
the Express workflow runs ``sample-func``, which logs the payload. What each test checks is what the
seed article promises, observed the way a user would: HTTP, boto3 and CloudWatch Logs.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, LiveServer, StartServer

LAMBDA_GROUP = "/aws/lambda/sample-func"
STATES_GROUP = "/aws/vendedlogs/states/sample"


def post(server: LiveServer, body: bytes, content_type: str = "application/json") -> tuple[int, Any]:
    status, _headers, raw = server.request(
        "POST", server.api_url(), body=body, headers={"Content-Type": content_type}
    )
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def wait_for(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def log_messages(server: LiveServer, group: str) -> list[str]:
    logs = server.client("logs")
    events: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group}
    while True:
        page = logs.filter_log_events(**kwargs)
        events += [e["message"] for e in page["events"]]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def vended_events(server: LiveServer) -> list[dict[str, Any]]:
    return [json.loads(m) for m in log_messages(server, STATES_GROUP)]


def execution_events(server: LiveServer, marker: str) -> list[dict[str, Any]]:
    """The vended events of the execution whose input carries ``marker``."""
    events = vended_events(server)
    arns = {e["execution_arn"] for e in events
            if e["type"] == "ExecutionStarted" and marker in e["details"].get("input", "")}
    return [e for e in events if e["execution_arn"] in arns]


PAYLOAD = {
    "marker": "",
    "quote": 'she said "hi"',
    "backslash": "C:\\temp\\new",
    "apostrophe": "it's Bob's",
    "unicode": "naïve café — 東京 🚀",
    "slash": "a/b</script>",
    "control": "tab\there\nnewline",
    "nested": {"list": [1, 2.5, True, None, "x"], "empty": {}},
}


def test_health_and_apis(server: LiveServer) -> None:
    status, _, body = server.request("GET", f"{server.endpoint}/_asyncgate/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    [api] = [a for a in server.apis if a["name"] == "Sample API"]
    assert api["stage"] == "main"
    assert api["url"] == f"http://127.0.0.1:{server.port}/restapis/{api['restApiId']}/main/_user_request_/"


def test_webhook_is_submitted_and_processed(server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    body = json.dumps({**PAYLOAD, "marker": marker}, ensure_ascii=False, separators=(",", ":"))

    assert post(server, body.encode()) == (200, {"status": "webhook submitted"})

    # The Lambda logged the event it was given.
    lines = wait_for(lambda: [m for m in log_messages(server, LAMBDA_GROUP) if marker in m])
    assert any(m.startswith("Printing out the event") for m in lines)
    assert any(m.startswith("START RequestId:") for m in log_messages(server, LAMBDA_GROUP))

    # The workflow's vended logs: the execution started with the payload, byte for byte, and succeeded.
    events = wait_for(lambda: [e for e in execution_events(server, marker)
                               if e["type"] == "ExecutionSucceeded"] and execution_events(server, marker))
    by_type = {e["type"]: e for e in events}
    assert by_type["ExecutionStarted"]["details"]["input"] == body
    assert "ExecutionSucceeded" in by_type
    output = json.loads(by_type["ExecutionSucceeded"]["details"]["output"])
    assert output is None  # the handler returns None; OutputPath $.Payload passes it on
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and ids[0] == 1


def test_host_style_url(server: LiveServer) -> None:
    [api] = [a for a in server.apis if a["name"] == "Sample API"]
    status, _, body = server.request(
        "POST", f"{server.endpoint}/main/", body=b'{"via": "host"}',
        headers={"Host": f"{api['restApiId']}.execute-api.localhost:{server.port}",
                 "Content-Type": "application/json"},
    )
    assert (status, json.loads(body)) == (200, {"status": "webhook submitted"})


def test_unknown_route_is_missing_authentication_token(server: LiveServer) -> None:
    base = server.api_url()
    for method, url in (("POST", base + "nope"), ("GET", base)):
        status, _, body = server.request(method, url)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"})


def test_payload_over_256_kb_fails_the_webhook(server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    big = json.dumps({"marker": marker, "blob": "x" * (256 * 1024)})
    assert post(server, big.encode()) == (500, {"status": "webhook failed"})
    time.sleep(0.5)
    assert execution_events(server, marker) == []


@pytest.mark.parametrize("body", [b'{"truncated": ', b"not json at all", b'{"a": }'])
def test_malformed_body_is_refused_and_nothing_starts(server: LiveServer, body: bytes) -> None:
    before = len([e for e in vended_events(server) if e["type"] == "ExecutionStarted"])
    status, answer = post(server, body)
    assert 400 <= status < 500, (status, answer)
    # The server keeps serving.
    assert post(server, b'{"after": "malformed"}') == (200, {"status": "webhook submitted"})
    time.sleep(0.5)
    started = [e for e in vended_events(server) if e["type"] == "ExecutionStarted"]
    assert all("truncated" not in e["details"].get("input", "") for e in started)
    assert len(started) >= before


def test_body_over_10_mb_is_413(server: LiveServer) -> None:
    status, _, body = server.request("POST", server.api_url(), body=b"x" * (10 * 1024 * 1024 + 1),
                                     headers={"Content-Type": "application/json"})
    assert status == 413
    assert body == b"HTTP content length exceeded 10485760 bytes."


def test_step_functions_api_sees_the_machine(server: LiveServer) -> None:
    sfn = server.client("stepfunctions")
    machines = sfn.list_state_machines()["stateMachines"]
    [machine] = [m for m in machines if m["type"] == "EXPRESS"]
    described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
    assert described["loggingConfiguration"]["level"] == "ALL"
    assert described["loggingConfiguration"]["includeExecutionData"] is True
    definition = json.loads(described["definition"])
    assert definition["States"]["SuccessState"]["Type"] == "Pass"


@pytest.fixture(scope="module")
def denied_server(server: LiveServer, start_server: StartServer, tmp_path_factory: pytest.TempPathFactory
                  ) -> LiveServer:
    """The sample app with the integration role's permission taken away (only StartSyncExecution)."""
    assembly = tmp_path_factory.mktemp("denied") / "cdk.out"
    shutil.copytree(REPO / "cdk.out", assembly)
    changed = 0
    for template in assembly.glob("*.template.json"):
        text = template.read_text()
        doc = json.loads(text)
        for resource in doc["Resources"].values():
            if resource["Type"] != "AWS::IAM::Policy":
                continue
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Action") == "states:StartExecution":
                    statement["Action"] = "states:StartSyncExecution"
                    changed += 1
        template.write_text(json.dumps(doc))
    assert changed == 1
    return start_server("--assembly", str(assembly))


def test_role_without_permission_gets_the_mapped_failure(denied_server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    status, answer = post(denied_server, json.dumps({"marker": marker}).encode())
    assert (status, answer) == (500, {"status": "webhook failed"})
    time.sleep(0.5)
    assert execution_events(denied_server, marker) == []


def test_cdk_out_is_the_synthesized_app(server: LiveServer) -> None:
    manifest = json.loads((Path(REPO) / "cdk.out" / "manifest.json").read_text())
    assert any(a["type"] == "aws:cloudformation:stack" for a in manifest["artifacts"].values())
