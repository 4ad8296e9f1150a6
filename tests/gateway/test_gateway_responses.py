"""Gateway errors dressed by the API's AWS::ApiGateway::GatewayResponse (CDK's addGatewayResponse)."""

from __future__ import annotations

import asyncio
import json

from asyncgate.local.assembly import Resource
from asyncgate.local.gateway import Gateway, GatewayRequest, GatewayResponse, build_rest_apis

from .stack import API_ID, StubAws, api_stack, seed_integration

CORS_4XX = {
    "ResponseType": "DEFAULT_4XX",
    "RestApiId": API_ID,
    "ResponseParameters": {
        "gatewayresponse.header.Access-Control-Allow-Origin": "'*'",
        "gatewayresponse.header.X-Asked": "method.request.header.X-Ask",
    },
    "ResponseTemplates": {
        "application/json": '{"error": $context.error.messageString, "type": "$context.error.responseType"}'
    },
}
MISSING_TOKEN = {
    "ResponseType": "MISSING_AUTHENTICATION_TOKEN",
    "RestApiId": API_ID,
    "StatusCode": "404",
    "ResponseTemplates": {"application/json": '{"message": "no such route: $context.error.message"}'},
}


def gateway_with(*responses: dict[str, object]) -> Gateway:
    stack = api_stack([("/", "POST", seed_integration(PassthroughBehavior="NEVER"))])
    for n, props in enumerate(responses):
        stack.resources[f"GatewayResponse{n}"] = Resource(
            f"GatewayResponse{n}", "AWS::ApiGateway::GatewayResponse", dict(props), f"gr{n}"
        )
    return Gateway(build_rest_apis(stack), aws=StubAws())


def call(gateway: Gateway, path: str = "/", content_type: str = "application/json") -> GatewayResponse:
    headers = [("Content-Type", content_type), ("X-Ask", "please")]
    return asyncio.run(gateway.handle(GatewayRequest("POST", API_ID, "main", path, "", headers, b"{}")))


def test_default_4xx_dresses_every_4xx_it_is_not_overridden_for() -> None:
    response = call(gateway_with(CORS_4XX), content_type="text/plain")  # 415
    assert response.status == 415
    assert json.loads(response.body) == {"error": "Unsupported Media Type", "type": "UNSUPPORTED_MEDIA_TYPE"}
    headers = dict(response.headers)
    assert (headers["Access-Control-Allow-Origin"], headers["X-Asked"]) == ("*", "please")


def test_a_specific_type_wins_over_default_4xx_and_can_change_the_status() -> None:
    response = call(gateway_with(CORS_4XX, MISSING_TOKEN), path="/nope")
    assert response.status == 404
    assert json.loads(response.body) == {"message": "no such route: Missing Authentication Token"}


def test_without_gateway_responses_the_defaults_stay() -> None:
    response = call(gateway_with(), path="/nope")
    assert (response.status, response.body) == (403, b'{"message":"Missing Authentication Token"}')
    assert call(gateway_with(CORS_4XX)).status == 200  # successes are untouched
