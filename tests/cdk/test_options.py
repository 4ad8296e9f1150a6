"""The options of ``AsyncWorkflowApi``: workflow type, sync start, execution ARN answer, own workflow."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn

from asyncgate.cdk import AsyncResponse, AsyncWorkflowApi, StartMode, Workflow, WorkflowApi
from tests.cdk.synthesized import OWN_DEFINITION, Synthesized, flatten


def _integration(stack: Synthesized) -> Any:
    return stack.only("AWS::ApiGateway::Method")[1]["Properties"]["Integration"]


def _start_actions(stack: Synthesized) -> list[Any]:
    role_id = _integration(stack)["Credentials"]["Fn::GetAtt"][0]
    return [
        statement["Action"]
        for policy in stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_standard_workflow_started_async(options: dict[str, Synthesized]) -> None:
    stack = options["Standard"]
    assert stack.only("AWS::StepFunctions::StateMachine")[1]["Properties"]["StateMachineType"] == "STANDARD"
    assert flatten(_integration(stack)["Uri"]).endswith(":states:action/StartExecution")


def test_sync_mode_answers_with_the_output(options: dict[str, Synthesized]) -> None:
    stack = options["Sync"]
    integration = _integration(stack)
    assert flatten(integration["Uri"]).endswith(":states:action/StartSyncExecution")
    assert _start_actions(stack) == ["states:StartSyncExecution"]
    ok, *failures = integration["IntegrationResponses"]
    template = ok["ResponseTemplates"]["application/json"]
    # CDK's StepFunctionsIntegration template: FAILED executions become a 500, others the output.
    assert """#if($input.path('$.status').toString().equals("FAILED"))""" in template
    assert "#set($context.responseOverride.status = 500)" in template
    assert "$input.path('$.output')" in template
    assert [(f["SelectionPattern"], f["StatusCode"]) for f in failures] == [
        (r"4\d{2}", "500"),
        (r"5\d{2}", "500"),
    ]
    # same request template as async: the workflow gets the same input in both modes
    assert "$util.escapeJavaScript($input)" in flatten(integration["RequestTemplates"]["application/json"])


def test_execution_arn_answer(options: dict[str, Synthesized]) -> None:
    [ok, *_] = _integration(options["ExecutionArn"])["IntegrationResponses"]
    assert ok["ResponseTemplates"]["application/json"] == (
        """{"status": "webhook submitted", "executionArn": "$input.path('$.executionArn')"}"""
    )


def test_own_definition_replaces_the_processor(options: dict[str, Synthesized]) -> None:
    stack = options["OwnDefinition"]
    assert stack.resources("AWS::Lambda::Function") == {}
    machine = stack.only("AWS::StepFunctions::StateMachine")[1]["Properties"]
    assert json.loads(flatten(machine["DefinitionString"])) == OWN_DEFINITION


def test_own_handler_is_invoked(options: dict[str, Synthesized]) -> None:
    stack = options["OwnHandler"]
    assert stack.resources("AWS::Lambda::Function") == {}
    machine = stack.only("AWS::StepFunctions::StateMachine")[1]["Properties"]
    definition = json.loads(flatten(machine["DefinitionString"]))
    assert definition["States"]["OneFuncInvoke"]["Parameters"]["FunctionName"] == (
        "arn:aws:lambda:us-east-1:000000000000:function:mine"
    )


def test_sync_refuses_standard() -> None:
    with pytest.raises(ValueError, match="StartSyncExecution, which only runs EXPRESS"):
        AsyncWorkflowApi(
            cdk.Stack(), "P", mode=StartMode.SYNC, state_machine_type=sfn.StateMachineType.STANDARD
        )


def test_workflow_api_checks_a_standard_machine_it_is_given() -> None:
    stack = cdk.Stack()
    workflow = Workflow(
        stack,
        "W",
        definition_body=sfn.DefinitionBody.from_string(json.dumps(OWN_DEFINITION)),
        state_machine_type=sfn.StateMachineType.STANDARD,
    )
    with pytest.raises(ValueError, match="this one is STANDARD"):
        WorkflowApi(stack, "Api", state_machine=workflow.state_machine, mode=StartMode.SYNC)


def test_sync_has_no_async_response() -> None:
    with pytest.raises(ValueError, match="async_response only applies to"):
        AsyncWorkflowApi(cdk.Stack(), "P", mode=StartMode.SYNC, async_response=AsyncResponse.EXECUTION_ARN)


def test_handler_or_definition_not_both() -> None:
    stack = cdk.Stack()
    body = sfn.DefinitionBody.from_string(json.dumps(OWN_DEFINITION))
    handler = cdk.aws_lambda.Function.from_function_name(stack, "F", "f")
    with pytest.raises(ValueError, match="not both"):
        AsyncWorkflowApi(stack, "P", handler=handler, definition_body=body)
