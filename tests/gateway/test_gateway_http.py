"""HTTP integrations over a real local HTTP server (AsyncioHttpCaller), stages, canaries, content types."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from asyncgate.local.gateway import (
    AsyncioHttpCaller,
    Gateway,
    GatewayRequest,
    GatewayResponse,
    build_rest_apis,
)

from .stack import API_ID, api_stack


async def _serve(received: list[dict[str, Any]]) -> tuple[asyncio.Server, int]:
    """A tiny HTTP/1.1 server that records each request and answers 201 with a JSON echo."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = (await reader.readline()).decode()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        received.append({"line": request_line.strip(), "headers": headers, "body": body})
        payload = json.dumps({"got": body.decode(), "target": request_line.split()[1]}).encode()
        writer.write(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nETag: v7\r\n"
            + f"Content-Length: {len(payload)}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_http_integration_sends_the_mapped_request_and_maps_the_answer() -> None:
    received: list[dict[str, Any]] = []

    async def main() -> GatewayResponse:
        server, port = await _serve(received)
        integration = {
            "Type": "HTTP",
            "IntegrationHttpMethod": "PUT",
            "Uri": "http://127.0.0.1:${stageVariables.port}/pets/{petId}",
            "RequestParameters": {
                "integration.request.path.petId": "method.request.path.id",
                "integration.request.querystring.color": "method.request.querystring.c",
                "integration.request.header.X-Stage": "stageVariables.flavour",
                "integration.request.header.X-Fixed": "'fixed'",
            },
            "RequestTemplates": {
                "application/json": '#set($context.requestOverride.header.X-Override = "yes")'
                '{"name": "$input.path(\'$.name\')"}'
            },
            "IntegrationResponses": [
                {
                    "StatusCode": "200",
                    "SelectionPattern": "2\\d{2}",
                    "ResponseTemplates": {
                        "text/plain": "got $input.path('$.got') at $input.path('$.target')"
                    },
                    "ResponseParameters": {
                        "method.response.header.X-Version": "integration.response.header.ETag"
                    },
                }
            ],
        }
        stack = api_stack(
            [("/pets/{id}", "POST", integration)], variables={"flavour": "mint", "port": str(port)}
        )
        gateway = Gateway(build_rest_apis(stack), aws=None, http=AsyncioHttpCaller())
        try:
            return await gateway.handle(
                GatewayRequest("POST", API_ID, "main", "/pets/7", "c=red&ignored=1", [], b'{"name": "Rex"}')
            )
        finally:
            server.close()
            await server.wait_closed()

    response = asyncio.run(main())
    (call,) = received
    assert call["line"] == "PUT /pets/7?color=red HTTP/1.1"
    assert call["body"] == b'{"name": "Rex"}'
    assert (call["headers"]["x-stage"], call["headers"]["x-fixed"], call["headers"]["x-override"]) == (
        "mint",
        "fixed",
        "yes",
    )
    assert response.status == 200
    assert response.body == b'got {"name": "Rex"} at /pets/7?color=red'
    headers = dict(response.headers)
    assert (headers["Content-Type"], headers["X-Version"]) == ("text/plain", "v7")


def _mock_stack(**stage: Any) -> Any:
    template = '{"v": "$stageVariables.v", "canary": $context.isCanaryRequest, "d": "$context.deploymentId"}'
    integration = {
        "Type": "MOCK",
        "RequestTemplates": {"application/json": '{"statusCode": 200}'},
        "IntegrationResponses": [{"StatusCode": "200", "ResponseTemplates": {"application/json": template}}],
    }
    stack = api_stack([("/", "GET", integration)], variables={"v": "base"})
    props = stack.resources["RestApiDeploymentStagemain"].properties
    props.update(stage)
    return stack


def _get(stack: Any) -> dict[str, Any]:
    gateway = Gateway(build_rest_apis(stack), aws=None)
    response = asyncio.run(gateway.handle(GatewayRequest("GET", API_ID, "main", "/")))
    assert response.status == 200, response.body
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_a_canary_takes_its_share_of_traffic_with_its_variables() -> None:
    assert _get(_mock_stack()) == {"v": "base", "canary": False, "d": "dep001"}
    always = {"DeploymentId": "dep002", "PercentTraffic": 100, "StageVariableOverrides": {"v": "canary"}}
    assert _get(_mock_stack(CanarySetting=always)) == {"v": "canary", "canary": True, "d": "dep002"}
    never = dict(always, PercentTraffic=0)
    assert _get(_mock_stack(CanarySetting=never))["canary"] is False
