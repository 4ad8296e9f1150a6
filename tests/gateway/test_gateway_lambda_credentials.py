"""A Lambda integration with a credentials role: API Gateway assumes the role to invoke, so the role's
identity policy must allow ``lambda:InvokeFunction`` on the function; otherwise the method answers
500 "Internal server error" (logged as "Invalid permissions on Lambda function"), on the real
LambdaService and IAM evaluation."""

from __future__ import annotations

import asyncio
import json
import textwrap
from pathlib import Path
from typing import Any

from asyncgate.local.assembly import Resource, Stack
from asyncgate.local.gateway import Gateway, GatewayRequest, GatewayResponse, build_rest_apis
from asyncgate.local.iam import Iam
from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.logs import Logs
from asyncgate.local.store import Store

from .stack import API_ID, api_stack

ROLE = "arn:aws:iam::000000000000:role/invoker"
LAMBDA_PATH = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions"


def integration(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS",
        "IntegrationHttpMethod": "POST",
        "Uri": f"{LAMBDA_PATH}/{function_arn(name)}/invocations",
        "Credentials": ROLE,
        "RequestTemplates": {"application/json": "$input.json('$')"},
        "IntegrationResponses": [{"StatusCode": "200"}],
    }


def role_stack() -> Stack:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn("allowed")}
    role = Resource(
        "R", "AWS::IAM::Role",
        {"Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement]}}]},
        "invoker", {"Arn": ROLE},
    )
    return Stack("Roles", {"R": role}, {})


def test_the_credentials_role_must_allow_the_invoke(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text(textwrap.dedent("""
        def echo(event, context):
            return event
    """))
    stack = api_stack([(f"/{name}", "POST", integration(name)) for name in ("allowed", "denied")])
    store = Store(tmp_path / "db.sqlite", synchronous="OFF")

    async def main() -> list[GatewayResponse]:
        service = LambdaService(Logs(store), data_dir=tmp_path / "data", store=store)
        for name in ("allowed", "denied"):
            service.register(FunctionConfig(name, function_arn(name), "index.echo", "python3.12", code))
        try:
            gateway = Gateway(build_rest_apis(stack), aws=None, lambdas=service,
                              iam=Iam.from_stacks([role_stack()]))
            return [
                await gateway.handle(GatewayRequest("POST", API_ID, "main", path, "",
                                                    [("Content-Type", "application/json")], b'{"n": 1}'))
                for path in ("/allowed", "/denied")
            ]
        finally:
            await service.close()

    try:
        allowed, denied = asyncio.run(main())
    finally:
        store.close()
    assert (allowed.status, json.loads(allowed.body)) == (200, {"n": 1})
    assert (denied.status, json.loads(denied.body)) == (500, {"message": "Internal server error"})


AUTHORIZER = """
def authorize(event, context):
    return {"principalId": "user", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]}}
"""

MOCK = {
    "Type": "MOCK",
    "RequestTemplates": {"application/json": '{"statusCode": 200}'},
    "IntegrationResponses": [
        {"StatusCode": "200", "ResponseTemplates": {"application/json": '{"ok": true}'}},
    ],
}


def authorized_stack(function: str) -> Stack:
    """One MOCK method behind a TOKEN authorizer that API Gateway invokes with AuthorizerCredentials."""
    base = api_stack([("/", "GET", MOCK)])
    method = base.resources["Method0"]
    resources = dict(base.resources)
    resources["Method0"] = Resource(method.logical_id, method.type, {
        **method.properties, "AuthorizationType": "CUSTOM", "AuthorizerId": "auth01",
    }, method.physical_id)
    resources["Authorizer"] = Resource("Authorizer", "AWS::ApiGateway::Authorizer", {
        "RestApiId": API_ID, "Type": "TOKEN", "Name": "tokens", "AuthorizerCredentials": ROLE,
        "AuthorizerUri": f"{LAMBDA_PATH}/{function_arn(function)}/invocations",
        "IdentitySource": "method.request.header.Authorization",
    }, "auth01")
    return Stack(base.name, resources, {})


def test_authorizer_credentials_role_must_allow_the_invoke(tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text(textwrap.dedent(AUTHORIZER))
    store = Store(tmp_path / "db.sqlite", synchronous="OFF")

    async def main() -> list[GatewayResponse]:
        service = LambdaService(Logs(store), data_dir=tmp_path / "data", store=store)
        for name in ("allowed", "denied"):
            service.register(FunctionConfig(name, function_arn(name), "index.authorize", "python3.12", code))
        iam = Iam.from_stacks([role_stack()])
        try:
            answers = []
            for name in ("allowed", "denied"):
                gateway = Gateway(build_rest_apis(authorized_stack(name)), aws=None, lambdas=service, iam=iam)
                answers.append(await gateway.handle(GatewayRequest(
                    "GET", API_ID, "main", "/", "", [("Authorization", "token")], b"")))
            return answers
        finally:
            await service.close()

    try:
        allowed, denied = asyncio.run(main())
    finally:
        store.close()
    assert (allowed.status, json.loads(allowed.body)) == (200, {"ok": True})
    assert denied.status == 500
    assert ("x-amzn-ErrorType", "AuthorizerConfigurationException") in denied.headers
