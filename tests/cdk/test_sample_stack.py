"""The sample stack is the seed's system, bugs fixed: checked on the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cdk.synthesized import Synthesized, flatten


def _start_method(sample: Synthesized) -> Any:
    _, method = sample.only("AWS::ApiGateway::Method")
    return method["Properties"]


def _machine_id(sample: Synthesized) -> str:
    return sample.only("AWS::StepFunctions::StateMachine")[0]


def test_start_role_is_trusted_by_api_gateway_only(sample: Synthesized) -> None:
    credentials = _start_method(sample)["Integration"]["Credentials"]
    role_id = credentials["Fn::GetAtt"][0]
    role = sample.resources("AWS::IAM::Role")[role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role and "Policies" not in role


def test_start_role_may_only_start_this_machine(sample: Synthesized) -> None:
    role_id = _start_method(sample)["Integration"]["Credentials"]["Fn::GetAtt"][0]
    policies = [
        policy["Properties"]
        for policy in sample.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    assert [policy["PolicyDocument"]["Statement"] for policy in policies] == [
        [{"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": _machine_id(sample)}}]
    ]


def test_request_template_is_the_seeds(sample: Synthesized) -> None:
    integration = _start_method(sample)["Integration"]
    template = flatten(integration["RequestTemplates"]["application/json"])
    # API Gateway receives two backslashes: the Java regex \\' matches the \' escapeJavaScript writes.
    assert r""".replaceAll("\\'", "'")""" in template
    assert template == (
        "#set($input = $input.json('$'))\n"
        "{\n"
        """  "input": "$util.escapeJavaScript($input).replaceAll("\\\\'", "'")",\n"""
        f'  "stateMachineArn": "<Ref {_machine_id(sample)}>"\n'
        "}"
    )


def test_integration_calls_start_execution(sample: Synthesized) -> None:
    integration = _start_method(sample)["Integration"]
    assert integration["Type"] == "AWS"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert flatten(integration["Uri"]).endswith(":states:action/StartExecution")
    assert integration["PassthroughBehavior"] == "NEVER"


def test_one_default_response_and_failures_by_status_code(sample: Synthesized) -> None:
    failed = {"application/json": '{"status": "webhook failed"}'}
    assert _start_method(sample)["Integration"]["IntegrationResponses"] == [
        {"StatusCode": "200", "ResponseTemplates": {"application/json": '{"status": "webhook submitted"}'}},
        {"StatusCode": "500", "SelectionPattern": r"4\d{2}", "ResponseTemplates": failed},
        {"StatusCode": "500", "SelectionPattern": r"5\d{2}", "ResponseTemplates": failed},
    ]


def test_method_is_post_on_root_with_200_and_500(sample: Synthesized) -> None:
    method = _start_method(sample)
    assert method["HttpMethod"] == "POST"
    assert method["ResourceId"] == {
        "Fn::GetAtt": [sample.only("AWS::ApiGateway::RestApi")[0], "RootResourceId"]
    }
    assert method["MethodResponses"] == [{"StatusCode": "200"}, {"StatusCode": "500"}]


def test_api_names_and_stage(sample: Synthesized) -> None:
    _, api = sample.only("AWS::ApiGateway::RestApi")
    assert api["Properties"]["Name"] == "Sample API"
    assert api["Properties"]["Description"] == "Sample API"
    _, stage = sample.only("AWS::ApiGateway::Stage")
    assert stage["Properties"]["StageName"] == "main"
    assert stage["Properties"]["TracingEnabled"] is True
    assert "AccessLogSetting" in stage["Properties"]


def test_workflow_is_express_logged_with_execution_data(sample: Synthesized) -> None:
    _, machine = sample.only("AWS::StepFunctions::StateMachine")
    props = machine["Properties"]
    assert props["StateMachineType"] == "EXPRESS"
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is True
    [destination] = logging["Destinations"]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = sample.resources("AWS::Logs::LogGroup")[log_group_id]["Properties"]
    assert log_group["LogGroupName"] == "/aws/vendedlogs/states/sample"
    assert props["TracingConfiguration"] == {"Enabled": True}


def test_definition_invokes_the_function_then_succeeds(sample: Synthesized) -> None:
    _, machine = sample.only("AWS::StepFunctions::StateMachine")
    definition = json.loads(flatten(machine["Properties"]["DefinitionString"]))
    function_id = sample.only("AWS::Lambda::Function")[0]
    assert definition["StartAt"] == "OneFuncInvoke"
    invoke = definition["States"]["OneFuncInvoke"]
    assert invoke["Type"] == "Task"
    assert invoke["Resource"].endswith(":states:::lambda:invoke")
    assert invoke["Parameters"] == {"FunctionName": f"<{function_id}.Arn>", "Payload.$": "$"}
    assert invoke["OutputPath"] == "$.Payload"
    assert invoke["Next"] == "SuccessState"
    assert definition["States"]["SuccessState"] == {"Type": "Pass", "End": True}


def test_processor_function(sample: Synthesized) -> None:
    _, function = sample.only("AWS::Lambda::Function")
    props = function["Properties"]
    assert props["FunctionName"] == "sample-func"
    assert props["Runtime"] == "python3.12"
    assert props["Timeout"] == 30
    assert props["Handler"] == "handler.handler"


def test_processor_asset_is_the_handler_without_bytecode(sample: Synthesized) -> None:
    _, function = sample.only("AWS::Lambda::Function")
    asset = sample.assembly_dir / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    assert sorted(p.name for p in asset.rglob("*")) == ["handler.py"]


def test_processor_role_writes_its_own_log_group_only(sample: Synthesized) -> None:
    _, function = sample.only("AWS::Lambda::Function")
    props = function["Properties"]
    log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = sample.resources("AWS::Logs::LogGroup")[log_group_id]["Properties"]
    assert log_group["LogGroupName"] == "/aws/lambda/sample-func"
    role_id = props["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in sample.resources("AWS::IAM::Role")[role_id]["Properties"]
    [policy] = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in sample.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    assert {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
    } in policy


def test_log_groups_are_removed_with_the_stack(sample: Synthesized) -> None:
    for log_group in sample.resources("AWS::Logs::LogGroup").values():
        assert log_group["DeletionPolicy"] == "Delete"


def test_handler_prints_the_event(capsys: pytest.CaptureFixture[str]) -> None:
    from asyncgate.functions.processor.handler import handler

    handler({"hello": "world"}, None)
    assert capsys.readouterr().out == "Printing out the event {'hello': 'world'}\n"
