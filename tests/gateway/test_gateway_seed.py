"""The seed's hand-off through Gateway.handle: POST -> states:StartExecution -> {"status": ...}.

AWS (Step Functions' API) is a stub that records the call; everything of ours is real.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncgate.local.errors import ExecutionAlreadyExists
from asyncgate.local.gateway import (
    MAX_PAYLOAD_BYTES,
    Gateway,
    GatewayRequest,
    GatewayResponse,
    build_rest_apis,
)

from .stack import API_ID, ROLE_ARN, STATE_MACHINE_ARN, StubAws, api_stack, seed_integration, seed_stack


def run(
    gateway: Gateway, method: str = "POST", path: str = "/", body: bytes = b"{}", **kw: Any
) -> GatewayResponse:
    headers = kw.pop("headers", [("Content-Type", "application/json")])
    request = GatewayRequest(
        method,
        kw.pop("api_id", API_ID),
        kw.pop("stage", "main"),
        path,
        kw.pop("query", ""),
        headers,
        body,
        "203.0.113.9",
    )
    return asyncio.run(gateway.handle(request))


def header(response: GatewayResponse, name: str) -> str | None:
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)


@pytest.fixture
def aws() -> StubAws:
    return StubAws()


@pytest.fixture
def gateway(aws: StubAws) -> Gateway:
    return Gateway(build_rest_apis(seed_stack()), aws=aws)


def start_execution_input(aws: StubAws) -> str:
    (call,) = aws.calls
    request = json.loads(call["body"])  # the rendered template must be valid JSON
    assert request["stateMachineArn"] == STATE_MACHINE_ARN
    assert isinstance(request["input"], str)
    return str(request["input"])


def test_post_starts_an_execution_and_answers_webhook_submitted(gateway: Gateway, aws: StubAws) -> None:
    response = run(gateway, body=b'{"hello": "world"}')
    assert response.status == 200
    assert json.loads(response.body) == {"status": "webhook submitted"}
    (call,) = aws.calls
    assert (call["service"], call["action"], call["credentials"]) == ("states", "StartExecution", ROLE_ARN)
    assert start_execution_input(aws) == '{"hello":"world"}'


def test_response_headers_are_the_ones_aws_sends(gateway: Gateway) -> None:
    response = run(gateway)
    assert header(response, "Content-Type") == "application/json"
    assert len(header(response, "x-amzn-RequestId") or "") == 36
    assert (header(response, "x-amz-apigw-id") or "").endswith("=")
    assert (header(response, "X-Amzn-Trace-Id") or "").startswith("Root=1-")


@pytest.mark.parametrize(
    "payload",
    [
        {"quote": 'say "hi"', "backslash": "C:\\path\\n", "apostrophe": "it's Bob's"},
        {"unicode": "héllo wörld ☃ 😀", "rtl": "שלום", "cjk": "漢字"},
        {"control": "tab\there\nnewline\r\u0001\u007f", "slash": "a/b</script>"},
        ["list", 1, 2.5, True, False, None, {"nested": ["'\"\\"]}],
        "just a string with ' and \"",
        12345678901234567890,
    ],
)
def test_awkward_payloads_reach_states_byte_for_byte(gateway: Gateway, aws: StubAws, payload: Any) -> None:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    response = run(gateway, body=text.encode())
    assert response.status == 200
    assert start_execution_input(aws) == text


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=12,
    )
)
def test_any_json_body_survives_the_seed_template(payload: Any) -> None:
    aws = StubAws()
    gateway = Gateway(build_rest_apis(seed_stack()), aws=aws)
    compact = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    for body in (compact, json.dumps(payload), json.dumps(payload, indent=2)):
        aws.calls.clear()
        response = run(gateway, body=body.encode())
        assert response.status == 200, response.body
        received = start_execution_input(aws)
        assert json.loads(received) == payload
        assert received == compact  # $input.json('$') re-serializes compactly


def test_a_400_from_states_selects_the_500_webhook_failed(gateway: Gateway, aws: StubAws) -> None:
    aws.status, aws.body = 400, b'{"__type": "InvalidExecutionInput", "message": "bad"}'
    response = run(gateway)
    assert response.status == 500
    assert json.loads(response.body) == {"status": "webhook failed"}


def test_an_aws_error_raised_by_the_caller_is_the_status_it_carries(gateway: Gateway, aws: StubAws) -> None:
    aws.raises = ExecutionAlreadyExists("Execution Already Exists: 'arn...'")
    response = run(gateway)
    assert (response.status, json.loads(response.body)) == (500, {"status": "webhook failed"})


def test_a_500_from_states_takes_the_default_response_as_on_aws(gateway: Gateway, aws: StubAws) -> None:
    # The seed's only pattern is 4\d{2}: a 5xx falls to the default (200) response. AWS does the same.
    aws.status = 500
    response = run(gateway)
    assert (response.status, json.loads(response.body)) == (200, {"status": "webhook submitted"})


def test_no_match_and_no_default_is_500_internal_server_error(aws: StubAws) -> None:
    integration = seed_integration(
        IntegrationResponses=[{"StatusCode": "200", "SelectionPattern": "2\\d{2}"}]
    )
    gateway = Gateway(build_rest_apis(api_stack([("/", "POST", integration)])), aws=aws)
    aws.status = 400
    response = run(gateway)
    assert (response.status, response.body) == (500, b'{"message": "Internal server error"}')


@pytest.mark.parametrize(
    ("method", "path", "stage", "api_id"),
    [
        ("POST", "/nope", "main", API_ID),  # no such resource
        ("GET", "/", "main", API_ID),  # wrong method
        ("POST", "/", "prod", API_ID),  # no such stage
        ("POST", "/", "main", "zzzzzzzzzz"),  # no such API
    ],
)
def test_unknown_route_method_stage_or_api_is_403(
    gateway: Gateway, aws: StubAws, method: str, path: str, stage: str, api_id: str
) -> None:
    response = run(gateway, method, path, stage=stage, api_id=api_id)
    assert response.status == 403
    assert response.body == b'{"message":"Missing Authentication Token"}'
    assert header(response, "x-amzn-ErrorType") == "MissingAuthenticationTokenException"
    assert aws.calls == []


@pytest.mark.parametrize("body", [b"{not json", b'{"a": 1', b"'single'", b"NaN", b"\xff\xfe"])
def test_a_body_the_template_cannot_parse_is_400(gateway: Gateway, aws: StubAws, body: bytes) -> None:
    response = run(gateway, body=body)
    assert response.status == 400
    assert json.loads(response.body)["message"].startswith("Could not parse request body into json: ")
    assert aws.calls == []


def test_a_body_over_10_mb_is_413(gateway: Gateway, aws: StubAws) -> None:
    response = run(gateway, body=b"[" + b"1," * (MAX_PAYLOAD_BYTES // 2) + b"1]")
    assert (response.status, response.body) == (413, b"HTTP content length exceeded 10485760 bytes.")
    assert aws.calls == []


def test_an_empty_body_is_an_empty_object(gateway: Gateway, aws: StubAws) -> None:
    assert run(gateway, body=b"").status == 200
    assert start_execution_input(aws) == "{}"


def test_no_content_type_uses_the_application_json_template(gateway: Gateway, aws: StubAws) -> None:
    assert run(gateway, body=b'{"a": 1}', headers=[]).status == 200
    assert start_execution_input(aws) == '{"a":1}'


def test_content_type_parameters_are_ignored_for_template_selection(gateway: Gateway, aws: StubAws) -> None:
    run(gateway, body=b'{"a": 1}', headers=[("content-type", "Application/JSON; charset=utf-8")])
    assert start_execution_input(aws) == '{"a":1}'


def test_unmatched_content_type_passes_through_when_no_match(gateway: Gateway, aws: StubAws) -> None:
    run(gateway, body=b"plain text", headers=[("Content-Type", "text/plain")])
    assert aws.calls[0]["body"] == b"plain text"


@pytest.mark.parametrize("behaviour", ["NEVER", "WHEN_NO_TEMPLATES"])
def test_unmatched_content_type_is_415_when_passthrough_is_refused(aws: StubAws, behaviour: str) -> None:
    integration = seed_integration(PassthroughBehavior=behaviour)
    gateway = Gateway(build_rest_apis(api_stack([("/", "POST", integration)])), aws=aws)
    response = run(gateway, body=b"x", headers=[("Content-Type", "text/plain")])
    assert (response.status, response.body) == (415, b'{"message":"Unsupported Media Type"}')
    assert aws.calls == []


def test_a_template_that_fails_is_500_and_the_gateway_keeps_serving(aws: StubAws) -> None:
    integration = seed_integration(RequestTemplates={"application/json": "$util.parseJson('{oops')"})
    gateway = Gateway(build_rest_apis(api_stack([("/", "POST", integration)])), aws=aws)
    response = run(gateway)
    assert (response.status, response.body) == (500, b'{"message": "Internal server error"}')
    broken = seed_integration(RequestTemplates={"application/json": "#foreach($a in"})
    gateway = Gateway(build_rest_apis(api_stack([("/", "POST", broken)])), aws=aws)
    assert run(gateway).status == 500
    assert aws.calls == []


def test_an_integration_that_times_out_is_504(aws: StubAws) -> None:
    stack = api_stack([("/", "POST", seed_integration(TimeoutInMillis=50))])
    gateway = Gateway(build_rest_apis(stack), aws=aws)
    aws.delay = 1.0
    response = run(gateway)
    assert (response.status, json.loads(response.body)) == (504, {"message": "Endpoint request timed out"})


def test_a_caller_that_crashes_is_500_not_an_exception(gateway: Gateway, aws: StubAws) -> None:
    aws.raises = RuntimeError("boom")
    response = run(gateway)
    assert (response.status, response.body) == (500, b'{"message": "Internal server error"}')


def test_the_400_message_is_jackson_s(gateway: Gateway) -> None:
    # quickstart-git2s3#11: "Could not parse request body into json: Unexpected character ('}' (code 125)):
    # was expecting double-quote to start field name\n at [Source: ...; line: 60, column: 6]"
    message = json.loads(run(gateway, body=b'{"a": 1,}').body)["message"]
    assert message.startswith(
        "Could not parse request body into json: Unexpected character ('}' (code 125)): "
        "was expecting double-quote to start field name\n at [Source: "
    )


def test_content_after_the_first_json_value_is_ignored_as_jackson_does(
    gateway: Gateway, aws: StubAws
) -> None:
    assert run(gateway, body=b'{"a": 1} trailing').status == 200
    assert start_execution_input(aws) == '{"a":1}'
