"""The gateway over a real ``cdk synth`` of the seed's API, loaded with ``load_assembly``.

Synthesized once for the module: a RestApi (stage ``main``) whose ``POST /webhook`` is the seed's
``AwsIntegration`` to ``states:StartExecution``, plus a MOCK ``GET /items/{id}`` with stage variables,
so the model is checked against what CDK really emits (Fn::Join'd templates, resource ids, stages).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn

from asyncgate.local.assembly import Stack, load_assembly
from asyncgate.local.gateway import Gateway, GatewayRequest, RestApi, build_rest_apis

from .stack import StubAws

STACK = "GwSeed"
ITEM_TEMPLATE = '{"id": "$input.params(\'id\')", "flavour": "$stageVariables.flavour"}'


def _synth(outdir: Path) -> Path:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    machine = sfn.StateMachine(
        stack,
        "MyStateMachine",
        definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "SuccessState")),
        state_machine_type=sfn.StateMachineType.EXPRESS,
    )
    api = apigw.RestApi(
        stack,
        "RestApi",
        rest_api_name="Sample API",
        deploy_options=apigw.StageOptions(stage_name="main", variables={"flavour": "local"}),
    )
    role = iam.Role(stack, "StartExecution", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
    role.attach_inline_policy(
        iam.Policy(
            stack,
            "StartExecutionPolicy",
            statements=[
                iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine.state_machine_arn])
            ],
        )
    )
    template = (
        "\n#set($input = $input.json('$'))\n{\n"
        '   "input": "$util.escapeJavaScript($input).replaceAll("\\\\\'", "\'")",\n'
        f'   "stateMachineArn": "{machine.state_machine_arn}"\n}}\n'
    )
    api.root.add_resource("webhook").add_method(
        "POST",
        apigw.AwsIntegration(
            service="states",
            action="StartExecution",
            integration_http_method="POST",
            options=apigw.IntegrationOptions(
                credentials_role=role,
                request_templates={"application/json": template},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="200",
                        response_templates={"application/json": '{"status": "webhook submitted"}'},
                    ),
                    apigw.IntegrationResponse(
                        status_code="500",
                        selection_pattern="4\\d{2}",
                        response_templates={"application/json": '{"status": "webhook failed"}'},
                    ),
                ],
            ),
        ),
        method_responses=[apigw.MethodResponse(status_code="200"), apigw.MethodResponse(status_code="500")],
    )
    api.root.add_resource("items").add_resource("{id}").add_method(
        "GET",
        apigw.MockIntegration(
            request_templates={"application/json": '{"statusCode": 200}'},
            integration_responses=[
                apigw.IntegrationResponse(
                    status_code="200",
                    response_templates={"application/json": ITEM_TEMPLATE},
                )
            ],
        ),
        method_responses=[apigw.MethodResponse(status_code="200")],
    )
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    cdk_out = _synth(tmp_path_factory.mktemp("gw") / "cdk.out")
    return next(s for s in load_assembly(cdk_out).stacks if s.name == STACK)


@pytest.fixture(scope="module")
def api(stack: Stack) -> RestApi:
    (api,) = build_rest_apis(stack)
    return api


def test_the_model_has_the_stage_and_its_variables(api: RestApi, stack: Stack) -> None:
    assert api.name == "Sample API"
    assert [(s.name, s.variables) for s in api.stages] == [("main", {"flavour": "local"})]
    assert api.api_id == stack.of_type("AWS::ApiGateway::RestApi")[0].physical_id


def test_post_webhook_starts_the_synthesized_state_machine(api: RestApi, stack: Stack) -> None:
    aws = StubAws()
    gateway = Gateway([api], aws=aws)
    body = json.dumps({"order": 'it\'s "42"', "note": "naïve/😀"}, ensure_ascii=False).encode()
    request = GatewayRequest(
        "POST", api.api_id, "main", "/webhook", "", [("Content-Type", "application/json")], body
    )
    response = asyncio.run(gateway.handle(request))
    assert (response.status, json.loads(response.body)) == (200, {"status": "webhook submitted"})
    (call,) = aws.calls
    machine = stack.of_type("AWS::StepFunctions::StateMachine")[0]
    role = next(r for r in stack.of_type("AWS::IAM::Role") if r.logical_id.startswith("StartExecution"))
    assert (call["service"], call["action"], call["credentials"]) == (
        "states",
        "StartExecution",
        role.attributes["Arn"],
    )
    sent = json.loads(call["body"])
    assert sent["stateMachineArn"] == machine.physical_id
    assert sent["input"] == body.decode().replace(", ", ",").replace(": ", ":")


def test_a_states_400_answers_webhook_failed(api: RestApi) -> None:
    gateway = Gateway([api], aws=StubAws(status=400, body=b'{"__type": "ValidationException"}'))
    request = GatewayRequest("POST", api.api_id, "main", "/webhook", "", [], b"{}")
    response = asyncio.run(gateway.handle(request))
    assert (response.status, json.loads(response.body)) == (500, {"status": "webhook failed"})


def test_the_mock_method_routes_a_path_parameter(api: RestApi) -> None:
    gateway = Gateway([api], aws=None)
    request = GatewayRequest("GET", api.api_id, "main", "/items/abc-1")
    response = asyncio.run(gateway.handle(request))
    assert (response.status, json.loads(response.body)) == (200, {"id": "abc-1", "flavour": "local"})
    for method, path in (("GET", "/items"), ("POST", "/items/abc-1"), ("GET", "/webhook")):
        miss = asyncio.run(gateway.handle(GatewayRequest(method, api.api_id, "main", path)))
        assert miss.status == 403
