"""The pattern's options end to end: a sync API answers with the workflow's output (CDK's
StepFunctionsIntegration templates over StartSyncExecution), and a Standard async API answers with
the execution ARN, which boto3 then follows to the execution's output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import LiveServer, StartServer

APP = Path(__file__).resolve().parent / "options_app"


@pytest.fixture(scope="module")
def options_server(start_server: StartServer) -> LiveServer:
    return start_server(app_dir=APP)


def post(server: LiveServer, api: str, payload: object) -> tuple[int, object]:
    """POST JSON to a stage of the named API; the answer parsed."""
    status, _, body = server.request("POST", server.api_url(api), body=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    return status, json.loads(body)


def test_sync_api_answers_with_the_workflow_output(options_server: LiveServer) -> None:
    answer = post(options_server, "Sync API", {"n": 1, "note": "it's"})
    assert answer == (200, {"echo": {"n": 1, "note": "it's"}})


def test_sync_api_answers_500_when_the_workflow_fails(options_server: LiveServer) -> None:
    """CDK's template sets responseOverride.status 500 on FAILED and prints error and cause as they
    are: the cause (a JSON document) is not escaped, so the body is not valid JSON — on AWS too."""
    status, _, body = options_server.request(
        "POST", options_server.api_url("Sync API"), body=b'{"fail": true}',
        headers={"Content-Type": "application/json"},
    )
    assert status == 500
    text = body.decode()
    assert text.startswith('{\n"error": "ValueError",\n"cause": "{"errorMessage":"asked to fail"')


def test_tracked_api_answers_with_an_execution_arn_to_follow(options_server: LiveServer) -> None:
    status, answer = post(options_server, "Tracked API", {"order": 7})
    assert status == 200 and isinstance(answer, dict)
    assert answer["status"] == "webhook submitted"
    sfn = options_server.client("stepfunctions")
    deadline = time.monotonic() + 30
    while True:
        execution = sfn.describe_execution(executionArn=answer["executionArn"])
        if execution["status"] != "RUNNING" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"echo": {"order": 7}}
