"""A small CDK app that uses the REST API features AWS enforces before and around an integration.

Synthesized once per test session (``conftest.py``): Lambda TOKEN and REQUEST authorizers, an API
key with a usage plan (throttle and quota), a disabled key and a key in no plan, a request
validator with a draft-4 model and required parameters, CDK's CORS preflight for two origins,
binary media types, a 50 ms integration timeout, a stage method throttle, a stage access log, and
an ``AWS_PROXY`` method whose function has no ``AWS::Lambda::Permission`` for API Gateway.
The functions are inline Python, so the local Lambda runtime runs them as written.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

STACK = "GwSecured"
API_NAME = "Secured API"
KEY = "local-test-key-0123456789abcdef"
DISABLED_KEY = "disabled-key-0123456789abcdef"
LOOSE_KEY = "loose-key-0123456789abcdefgh"
ORIGINS = ["https://a.example", "https://b.example"]
PNG = b"\x89PNG\r\n\x1a\n"

TOKEN_AUTHORIZER = """
CALLS = 0

def handler(event, context):
    global CALLS
    CALLS += 1
    token, arn = event["authorizationToken"], event["methodArn"]
    if token.startswith("unauthorized"):
        raise Exception("Unauthorized")
    if token.startswith("boom"):
        raise ValueError("boom")
    if token.startswith("bad"):
        return {"nope": True}
    effect = "Deny" if token.startswith("deny") else "Allow"
    resource = arn if token.startswith("narrow") else arn.split("/", 1)[0] + "/*"
    return {
        "principalId": "user-" + token,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]},
        "context": {"user": "alice", "n": 7, "ok": True, "calls": CALLS},
    }
"""

REQUEST_AUTHORIZER = """
def handler(event, context):
    user = event["headers"].get("X-User")
    if user == "nobody":
        raise Exception("Unauthorized")
    return {
        "principalId": user,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"team": event["queryStringParameters"]["team"], "type": event["type"],
                    "path": event["path"]},
    }
"""

ECHO = """
import json

def handler(event, context):
    if event["path"] == "/binary" and event["httpMethod"] == "GET":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": "iVBORw0KGgo=", "isBase64Encoded": True}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({
        "authorizer": event["requestContext"].get("authorizer"),
        "apiKey": event["requestContext"]["identity"].get("apiKey"),
        "body": event["body"], "isBase64Encoded": event["isBase64Encoded"]})}
"""

SLOW = """
import time

def handler(event, context):
    time.sleep(2)
    return {"statusCode": 200, "body": "late"}
"""

AUTHORIZER_TEMPLATE = (
    '{"principal": "$context.authorizer.principalId", "user": "$context.authorizer.user", '
    '"n": $context.authorizer.n, "calls": $context.authorizer.calls}'
)


def _function(stack: cdk.Stack, name: str, code: str) -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline(textwrap.dedent(code)),
        timeout=cdk.Duration.seconds(5),
    )


def _mock(template: str = '{"ok": true}') -> apigw.MockIntegration:
    return apigw.MockIntegration(
        request_templates={"application/json": '{"statusCode": 200}'},
        integration_responses=[
            apigw.IntegrationResponse(status_code="200", response_templates={"application/json": template})
        ],
    )


OK = [apigw.MethodResponse(status_code="200")]


def synth(outdir: Path) -> Path:
    """Synthesize the app into ``outdir`` (a ``cdk.out``) and return it."""
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, STACK)
    access_logs = logs.LogGroup(stack, "AccessLogs", removal_policy=cdk.RemovalPolicy.DESTROY)
    api = apigw.RestApi(
        stack,
        "Api",
        rest_api_name=API_NAME,
        binary_media_types=["image/png"],
        default_cors_preflight_options=apigw.CorsOptions(allow_origins=ORIGINS),
        deploy_options=apigw.StageOptions(
            stage_name="main",
            access_log_destination=apigw.LogGroupLogDestination(access_logs),
            access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                caller=True,
                http_method=True,
                ip=True,
                protocol=True,
                request_time=True,
                resource_path=True,
                response_length=True,
                status=True,
                user=True,
            ),
            method_options={
                "/throttled/GET": apigw.MethodDeploymentOptions(
                    throttling_rate_limit=1, throttling_burst_limit=1
                )
            },
        ),
    )
    echo = _function(stack, "Echo", ECHO)
    token = apigw.TokenAuthorizer(
        stack,
        "TokenAuth",
        handler=_function(stack, "TokenAuthorizer", TOKEN_AUTHORIZER),
        validation_regex="^(allow|deny|unauthorized|boom|bad|narrow).*$",
    )
    request = apigw.RequestAuthorizer(
        stack,
        "RequestAuth",
        handler=_function(stack, "RequestAuthorizer", REQUEST_AUTHORIZER),
        identity_sources=[apigw.IdentitySource.header("X-User"), apigw.IdentitySource.query_string("team")],
    )
    api.root.add_resource("token").add_method("GET", apigw.LambdaIntegration(echo), authorizer=token)
    api.root.add_resource("token-mock").add_method(
        "GET", _mock(AUTHORIZER_TEMPLATE), authorizer=token, method_responses=OK
    )
    api.root.add_resource("request").add_method("GET", apigw.LambdaIntegration(echo), authorizer=request)

    keyed = api.root.add_resource("keyed")
    keyed.add_method("GET", _mock(), api_key_required=True, method_responses=OK)
    keyed.add_method("POST", apigw.LambdaIntegration(echo), api_key_required=True)
    plan = api.add_usage_plan(
        "Plan",
        throttle=apigw.ThrottleSettings(rate_limit=1, burst_limit=2),
        quota=apigw.QuotaSettings(limit=3, period=apigw.Period.DAY),
    )
    plan.add_api_stage(stage=api.deployment_stage)
    plan.add_api_key(api.add_api_key("Key", value=KEY))
    plan.add_api_key(apigw.ApiKey(stack, "Off", value=DISABLED_KEY, enabled=False))
    apigw.ApiKey(stack, "Loose", value=LOOSE_KEY)

    person = api.add_model(
        "Person",
        content_type="application/json",
        model_name="Person",
        schema=apigw.JsonSchema(
            schema=apigw.JsonSchemaVersion.DRAFT4,
            type=apigw.JsonSchemaType.OBJECT,
            required=["name"],
            properties={
                "name": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
                "age": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER, minimum=0),
            },
        ),
    )
    validator = api.add_request_validator(
        "Validator", validate_request_body=True, validate_request_parameters=True
    )
    api.root.add_resource("validated").add_method(
        "POST",
        _mock(),
        request_validator=validator,
        request_models={"application/json": person},
        request_parameters={"method.request.querystring.mode": True, "method.request.header.X-Trace": True},
        method_responses=OK,
    )
    api.root.add_resource("binary").add_method("ANY", apigw.LambdaIntegration(echo))
    api.root.add_resource("slow").add_method(
        "GET", apigw.LambdaIntegration(_function(stack, "Slow", SLOW), timeout=cdk.Duration.millis(50))
    )
    api.root.add_resource("throttled").add_method("GET", _mock(), method_responses=OK)
    api.root.add_resource("iam").add_method(
        "GET",
        _mock('{"accessKey": "$context.identity.accessKey"}'),
        authorization_type=apigw.AuthorizationType.IAM,
        method_responses=OK,
    )
    orphan = _function(stack, "Orphan", ECHO)
    functions = f"arn:aws:apigateway:{stack.region}:lambda:path/2015-03-31/functions"
    uri = f"{functions}/{orphan.function_arn}/invocations"
    api.root.add_resource("orphan").add_method(
        "GET",
        apigw.Integration(type=apigw.IntegrationType.AWS_PROXY, integration_http_method="POST", uri=uri),
    )
    app.synth()
    return outdir


def access_log_format(template: dict[str, object]) -> dict[str, str]:
    """The stage's access log format as the template holds it (a JSON object of $context names)."""
    stages = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGateway::Stage"]  # type: ignore[attr-defined,index]
    return dict(json.loads(stages[0]["Properties"]["AccessLogSetting"]["Format"]))
