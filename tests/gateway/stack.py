"""Resolved CloudFormation resources shaped like what CDK synthesizes for the seed's async API.

The seed (`shared/seed/000_*.txt`): a RestApi with `deployOptions.stageName = "main"`, an
`AwsIntegration(service="states", action="StartExecution")` with a credentials role, a request
template that wraps `$input.json('$')` for StartExecution, a 200 default integration response and a
500 selected by `4\\d{2}`. Physical ids are fixed strings, as the assembly loader derives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from asyncgate.local.assembly import Resource, Stack
from asyncgate.local.gateway import IntegrationResult

API_ID = "a1b2c3d4e5"
ROOT_ID = "r00tr00t01"
STATE_MACHINE_ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:MyStateMachine6C968CA5-x1"
ROLE_ARN = "arn:aws:iam::000000000000:role/ApiStartExecutionRole-x1"

# The template text API Gateway receives (CloudFormation's JSON escaping already decoded): the
# TypeScript literal `"\\\\'"` reaches it as `"\\'"`, Java regex for a backslash then a quote.
SEED_REQUEST_TEMPLATE = (
    "\n    #set($input = $input.json('$'))\n    {\n"
    '       "input": "$util.escapeJavaScript($input).replaceAll("\\\\\'", "\'")",\n'
    f'       "stateMachineArn": "{STATE_MACHINE_ARN}"\n    }}\n'
)


def seed_integration(**overrides: Any) -> dict[str, Any]:
    """The seed's Integration property, as synthesized."""
    integration: dict[str, Any] = {
        "Type": "AWS",
        "IntegrationHttpMethod": "POST",
        "Uri": "arn:aws:apigateway:us-east-1:states:action/StartExecution",
        "Credentials": ROLE_ARN,
        "RequestTemplates": {"application/json": SEED_REQUEST_TEMPLATE},
        "IntegrationResponses": [
            {
                "StatusCode": "200",
                "ResponseTemplates": {"application/json": '{"status": "webhook submitted"}'},
            },
            {
                "StatusCode": "500",
                "SelectionPattern": "4\\d{2}",
                "ResponseTemplates": {"application/json": '{"status": "webhook failed"}'},
            },
        ],
    }
    integration.update(overrides)
    return integration


def api_stack(
    methods: list[tuple[str, str, dict[str, Any]]],
    *,
    stage: str = "main",
    variables: Mapping[str, str] | None = None,
) -> Stack:
    """A stack with one RestApi, its resources for the given paths, the methods and one stage."""
    resources: dict[str, Resource] = {}

    def add(res: Resource) -> None:
        resources[res.logical_id] = res

    add(
        Resource(
            "RestApi0C43BF4B",
            "AWS::ApiGateway::RestApi",
            {"Name": "Sample API"},
            API_ID,
            {"RootResourceId": ROOT_ID},
            "Stack/RestApi/Resource",
        )
    )
    ids = {"/": ROOT_ID}
    for path, _, _ in methods:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:depth])
            if sub in ids:
                continue
            parent = "/" + "/".join(parts[: depth - 1]) if depth > 1 else "/"
            rid = f"res{len(ids):04d}"
            ids[sub] = rid
            add(
                Resource(
                    f"RestApi{rid}",
                    "AWS::ApiGateway::Resource",
                    {"ParentId": ids[parent], "PathPart": parts[depth - 1], "RestApiId": API_ID},
                    rid,
                )
            )
    for n, (path, verb, integration) in enumerate(methods):
        add(
            Resource(
                f"Method{n}",
                "AWS::ApiGateway::Method",
                {
                    "HttpMethod": verb,
                    "ResourceId": ids[path],
                    "RestApiId": API_ID,
                    "AuthorizationType": "NONE",
                    "Integration": integration,
                    "MethodResponses": [{"StatusCode": "200"}],
                },
                f"meth{n}",
            )
        )
    deployment = {"RestApiId": API_ID, "Description": "Automatically created by the RestApi construct"}
    add(Resource("RestApiDeployment180EC503", "AWS::ApiGateway::Deployment", deployment, "dep001"))
    stage_props: dict[str, Any] = {"RestApiId": API_ID, "DeploymentId": "dep001", "StageName": stage}
    if variables:
        stage_props["Variables"] = dict(variables)
    add(Resource("RestApiDeploymentStagemain", "AWS::ApiGateway::Stage", stage_props, stage))
    return Stack("SeedStack", resources, {})


def seed_stack() -> Stack:
    """The seed's API: POST / -> states:StartExecution."""
    return api_stack([("/", "POST", seed_integration())])


@dataclass
class StubAws:
    """Stands in for AWS (Step Functions' API): records each call, answers what it is told."""

    status: int = 200
    body: bytes = b'{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e1"}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/x-amz-json-1.0"})
    calls: list[dict[str, Any]] = field(default_factory=list)
    raises: Exception | None = None
    delay: float = 0.0

    async def call(
        self, *, service: str, action: str, body: bytes, credentials: str | None, headers: Mapping[str, str]
    ) -> IntegrationResult:
        import asyncio

        self.calls.append(
            {
                "service": service,
                "action": action,
                "body": body,
                "credentials": credentials,
                "headers": dict(headers),
            }
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.raises is not None:
            raise self.raises
        return IntegrationResult(self.status, self.headers, self.body)
