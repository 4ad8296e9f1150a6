"""What API Gateway checks and writes around an integration, from a real CDK synth through
``Gateway.handle``: request validators, CDK's CORS preflight, binary media types, the integration
timeout, Lambda invoke permissions and the stage access log."""

from __future__ import annotations

import base64
import json

from .harness import Secured, body, header
from .secured_app import ORIGINS, PNG, access_log_format

VALID = {"Content-Type": "application/json", "X-Trace": "t-1"}


def test_missing_required_parameters_are_named_in_one_400(secured: Secured) -> None:
    response = secured.call("POST", "/validated", headers={"Content-Type": "application/json"}, body=b"{}")
    assert response.status == 400
    # sorted by their method.request.* names: header.X-Trace before querystring.mode
    assert response.body == b'{"message":"Missing required request parameters: [X-Trace, mode]"}'
    assert header(response, "x-amzn-ErrorType") == "BadRequestException"
    blank = secured.call("POST", "/validated", headers=VALID, query="mode=", body=b'{"name": "a"}')
    assert blank.body == b'{"message":"Missing required request parameters: [mode]"}'


def test_a_body_against_the_model_is_checked_with_json_schema_draft_4(secured: Secured) -> None:
    def post(payload: bytes) -> tuple[int, bytes]:
        response = secured.call("POST", "/validated", headers=VALID, query="mode=x", body=payload)
        return response.status, response.body

    invalid = (400, b'{"message":"Invalid request body"}')
    assert post(b'{"name": "Ada", "age": 36}') == (200, b'{"ok": true}')
    assert post(b'{"age": 36}') == invalid  # required
    assert post(b'{"name": "Ada", "age": -1}') == invalid  # minimum
    assert post(b'{"name": 7}') == invalid  # type
    assert post(b"{not json") == invalid
    assert post(b"") == invalid  # no body reads as {}, which lacks "name"


def test_cdk_cors_preflight_answers_for_each_allowed_origin(secured: Secured) -> None:
    for origin in ORIGINS:
        response = secured.call(
            "OPTIONS", "/validated", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert response.status == 204, response.body
        assert header(response, "Access-Control-Allow-Origin") == origin
        assert header(response, "Vary") == "Origin"
        assert "POST" in (header(response, "Access-Control-Allow-Methods") or "")
        assert "Content-Type" in (header(response, "Access-Control-Allow-Headers") or "")
    # CDK's template only echoes origins it lists; the first one is the static default
    other = secured.call("OPTIONS", "/keyed", headers={"Origin": "https://evil.example"})
    assert (other.status, header(other, "Access-Control-Allow-Origin")) == (204, ORIGINS[0])


def test_binary_media_types_reach_a_proxy_base64_encoded_and_come_back_as_bytes(secured: Secured) -> None:
    sent = secured.call("POST", "/binary", headers={"Content-Type": "image/png"}, body=PNG)
    assert body(sent)["isBase64Encoded"] is True
    assert base64.b64decode(body(sent)["body"]) == PNG
    text = secured.call("POST", "/binary", headers={"Content-Type": "text/plain"}, body=b"hi")
    assert (body(text)["isBase64Encoded"], body(text)["body"]) == (False, "hi")
    # the client's first Accept type decides whether isBase64Encoded answers become bytes
    image = secured.call("GET", "/binary", headers={"Accept": "image/png,*/*"})
    assert (image.body, header(image, "Content-Type")) == (PNG, "image/png")
    as_text = secured.call("GET", "/binary", headers={"Accept": "application/json"})
    assert as_text.body == base64.b64encode(PNG)


def test_an_integration_over_its_timeout_is_504(secured: Secured) -> None:
    response = secured.call("GET", "/slow")
    assert (response.status, response.body) == (504, b'{"message":"Endpoint request timed out"}')


def test_a_function_without_permission_for_api_gateway_is_500(secured: Secured) -> None:
    response = secured.call("GET", "/orphan")
    assert (response.status, response.body) == (500, b'{"message": "Internal server error"}')
    # the same code behind CDK's LambdaIntegration (which adds the permission) answers
    assert secured.call("POST", "/binary", body=b"x").status == 200


def test_each_request_writes_the_stage_access_log_line(secured: Secured) -> None:
    (group,) = [r.physical_id for r in secured.stack.of_type("AWS::Logs::LogGroup")]
    denied = secured.call("GET", "/keyed", headers={"User-Agent": "probe/1"})
    lines = [json.loads(line) for line in secured.log_lines(group)]
    line = next(e for e in lines if e["requestId"] == header(denied, "x-amzn-RequestId"))
    fmt = access_log_format(json.loads((secured.cdk_out / "GwSecured.template.json").read_text()))
    assert set(line) == set(fmt)  # exactly the fields CDK's format names
    assert line == {
        **line,
        "ip": "192.0.2.7",
        "user": "-",
        "caller": "-",
        "httpMethod": "GET",
        "resourcePath": "/keyed",
        "status": "403",
        "protocol": "HTTP/1.1",
        "responseLength": str(len(denied.body)),
    }
