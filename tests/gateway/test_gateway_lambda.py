"""Lambda back ends through Gateway.handle, on the real LambdaService (worker processes, real handlers).

Custom integration (``Type: AWS``, ``lambda:path/2015-03-31/functions/.../invocations``): the template's
output is the event, errors are selected by their ``errorMessage``. Proxy (``AWS_PROXY``): the 1.0 event
in, ``{statusCode, headers, body}`` out, 502 for a failure or a malformed answer.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.gateway import Gateway, GatewayRequest, GatewayResponse, build_rest_apis
from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.logs import Logs
from asyncgate.local.store import Store

from .stack import API_ID, api_stack

HANDLERS = """
import json

def echo(event, context):
    return event

def fail(event, context):
    raise ValueError("bad input: " + str(event.get("n")))

def proxy(event, context):
    return {"statusCode": 201, "headers": {"X-Path": event["path"]}, "multiValueHeaders": {"X-M": ["a", "b"]},
            "body": json.dumps({"q": event["queryStringParameters"], "id": event["pathParameters"]["id"],
                                "body": event["body"], "stage": event["requestContext"]["stage"],
                                "resource": event["resource"], "vars": event["stageVariables"]})}

def malformed(event, context):
    return {"status": 200}
"""


def uri(name: str) -> str:
    return f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn(name)}/invocations"


CUSTOM_RESPONSES = [
    {"StatusCode": "200", "ResponseTemplates": {"application/json": "{\"echo\": $input.json('$.n')}"}},
    {
        "StatusCode": "400",
        "SelectionPattern": "bad input.*",
        "ResponseTemplates": {"application/json": '{"error": "$input.path(\'$.errorMessage\')"}'},
    },
]


def custom(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS",
        "IntegrationHttpMethod": "POST",
        "Uri": uri(name),
        "RequestTemplates": {
            "application/json": '{"n": $input.json(\'$.n\'), "ip": "$context.identity.sourceIp"}'
        },
        "IntegrationResponses": CUSTOM_RESPONSES,
    }


def proxy(name: str) -> dict[str, Any]:
    return {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST", "Uri": uri(name)}


def run_all(tmp_path: Path, requests: list[GatewayRequest]) -> list[GatewayResponse]:
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text(textwrap.dedent(HANDLERS))
    store = Store(tmp_path / "db.sqlite", synchronous="OFF")
    stack = api_stack(
        [
            ("/echo", "POST", custom("echo")),
            ("/fail", "POST", custom("fail")),
            ("/items/{id}", "ANY", proxy("proxy")),
            ("/broken", "GET", proxy("malformed")),
            ("/raises", "GET", proxy("fail")),
        ],
        variables={"v": "1"},
    )

    async def main() -> list[GatewayResponse]:
        service = LambdaService(Logs(store), data_dir=tmp_path / "data", store=store)
        for name in ("echo", "fail", "proxy", "malformed"):
            service.register(FunctionConfig(name, function_arn(name), f"index.{name}", "python3.12", code))
        try:
            gateway = Gateway(build_rest_apis(stack), aws=None, lambdas=service)
            return [await gateway.handle(r) for r in requests]
        finally:
            await service.close()

    try:
        return asyncio.run(main())
    finally:
        store.close()


def req(method: str, path: str, body: bytes = b"", query: str = "") -> GatewayRequest:
    return GatewayRequest(
        method, API_ID, "main", path, query, [("Content-Type", "application/json")], body, "192.0.2.1"
    )


@pytest.fixture(scope="module")
def responses(tmp_path_factory: pytest.TempPathFactory) -> list[GatewayResponse]:
    return run_all(
        tmp_path_factory.mktemp("lambda"),
        [
            req("POST", "/echo", b'{"n": 7}'),
            req("POST", "/fail", b'{"n": 3}'),
            req("PUT", "/items/42", b"hello", "a=1&a=2&b=x"),
            req("GET", "/broken"),
            req("GET", "/raises"),
        ],
    )


def test_custom_integration_success_takes_the_default_response(responses: list[GatewayResponse]) -> None:
    assert (responses[0].status, json.loads(responses[0].body)) == (200, {"echo": 7})


def test_custom_integration_error_is_selected_by_its_message(responses: list[GatewayResponse]) -> None:
    assert (responses[1].status, json.loads(responses[1].body)) == (400, {"error": "bad input: 3"})


def test_proxy_event_in_and_answer_out(responses: list[GatewayResponse]) -> None:
    response = responses[2]
    assert response.status == 201
    assert ("X-Path", "/items/42") in response.headers
    assert ("X-M", "a") in response.headers and ("X-M", "b") in response.headers
    assert json.loads(response.body) == {
        "q": {"a": "2", "b": "x"},
        "id": "42",
        "body": "hello",
        "stage": "main",
        "resource": "/items/{id}",
        "vars": {"v": "1"},
    }


@pytest.mark.parametrize("index", [3, 4])
def test_proxy_failures_are_502(responses: list[GatewayResponse], index: int) -> None:
    assert (responses[index].status, responses[index].body) == (502, b'{"message": "Internal server error"}')
