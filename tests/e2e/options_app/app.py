"""A CDK app using the pattern's options, served by the end-to-end tests: a sync Express API whose
answer is the workflow's output, and a Standard async API that answers with the execution ARN."""

import os

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn

from asyncgate.cdk import AsyncResponse, AsyncWorkflowApi, StartMode

ECHO = """
def handler(event, context):
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event}
"""

app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
stack = cdk.Stack(app, "PatternOptions")
echo = lambda_.Function(stack, "Echo", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                        code=lambda_.Code.from_inline(ECHO))
AsyncWorkflowApi(stack, "Sync", handler=echo, mode=StartMode.SYNC, rest_api_name="Sync API",
                 log_group_name="/aws/vendedlogs/states/sync")
AsyncWorkflowApi(stack, "Tracked", handler=echo, state_machine_type=sfn.StateMachineType.STANDARD,
                 async_response=AsyncResponse.EXECUTION_ARN, rest_api_name="Tracked API",
                 log_group_name="/aws/vendedlogs/states/tracked")
app.synth()
