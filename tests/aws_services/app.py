"""The CDK app the emulated-service tests serve: the seed's Kinesis ``CallAwsService`` and friends.

Run by ``asyncgate up`` (its ``cdk.json`` is written by the test fixture); also importable for
``build_app``. Every name is fixed so the tests can find machines and queues without lookups.
"""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

__all__ = ["STACK", "ServicesStack", "build_app"]

STACK = "AgServices"

#: a handler that queues its event with boto3 (which reaches this server through AWS_ENDPOINT_URL)
SENDER = """
import json, os
import boto3

def handler(event, context):
    sqs = boto3.client("sqs")
    sent = sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
    return {"MessageId": sent["MessageId"]}
"""


class ServicesStack(cdk.Stack):
    """A Kinesis stream and SQS queues, state machines that call them, and an API that queues."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        stream = kinesis.Stream(self, "Stream", stream_name="ag-stream", shard_count=1)
        queue = sqs.Queue(self, "Queue", queue_name="ag-queue")
        other = sqs.Queue(self, "Other", queue_name="ag-other")
        api_queue = sqs.Queue(self, "ApiQueue", queue_name="ag-api-queue")

        # the seed's snippet, as written there (service/action/parameters/iamResources)
        publish = tasks.CallAwsService(
            self, "KinesisPublish",
            service="kinesis",
            action="putRecords",
            iam_resources=[stream.stream_arn],
            parameters={
                "Records": [{"Data.$": "$", "PartitionKey": "Key"}],
                "StreamName": stream.stream_name,
            },
        )
        sfn.StateMachine(self, "KinesisMachine", state_machine_name="ag-kinesis",
                         definition_body=sfn.DefinitionBody.from_chainable(publish))

        send = tasks.SqsSendMessage(self, "Send", queue=queue,
                                    message_body=sfn.TaskInput.from_json_path_at("$"))
        sfn.StateMachine(self, "SqsMachine", state_machine_name="ag-sqs",
                         definition_body=sfn.DefinitionBody.from_chainable(send))

        # allowed on another queue only: the call to ag-queue is denied
        denied = tasks.CallAwsService(
            self, "SendElsewhere",
            service="sqs",
            action="sendMessage",
            iam_resources=[other.queue_arn],
            parameters={"QueueUrl": queue.queue_url, "MessageBody.$": "$.text"},
        )
        sfn.StateMachine(self, "DeniedMachine", state_machine_name="ag-denied",
                         definition_body=sfn.DefinitionBody.from_chainable(denied))

        # the callback pattern: the task token travels through a queue, a worker answers SendTaskSuccess
        approvals = sqs.Queue(self, "Approvals", queue_name="ag-approvals")
        ask = tasks.SqsSendMessage(
            self, "AskApproval",
            queue=approvals,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            message_body=sfn.TaskInput.from_object(
                {"token": sfn.JsonPath.task_token, "order": sfn.JsonPath.string_at("$.order")}
            ),
        )
        sfn.StateMachine(self, "ApprovalMachine", state_machine_name="ag-approval",
                         definition_body=sfn.DefinitionBody.from_chainable(ask))

        sender = lambda_.Function(
            self, "Sender",
            function_name="ag-sender",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(SENDER),
            environment={"QUEUE_URL": other.queue_url},
        )
        other.grant_send_messages(sender)

        # API Gateway -> SQS SendMessage, path form, as AWS's tutorial and CDK users write it
        role = iam.Role(self, "ApiRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
        api_queue.grant_send_messages(role)
        api = apigw.RestApi(self, "Api", rest_api_name="Queue API", deploy_options={"stage_name": "main"})
        api.root.add_method(
            "POST",
            apigw.AwsIntegration(
                service="sqs",
                path=f"{cdk.Aws.ACCOUNT_ID}/{api_queue.queue_name}",
                integration_http_method="POST",
                options=apigw.IntegrationOptions(
                    credentials_role=role,
                    request_parameters={
                        "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"
                    },
                    request_templates={"application/json": "Action=SendMessage&MessageBody=$input.body"},
                    integration_responses=[
                        apigw.IntegrationResponse(
                            status_code="200",
                            response_templates={
                                "application/json": '{"id": "$input.path(\'$.SendMessageResponse'
                                '.SendMessageResult.MessageId\')"}'
                            },
                        ),
                        apigw.IntegrationResponse(status_code="400", selection_pattern="4\\d{2}"),
                    ],
                ),
            ),
            method_responses=[apigw.MethodResponse(status_code=s) for s in ("200", "400")],
        )


def build_app(outdir: str | None = None) -> cdk.App:
    """The app with its one stack."""
    app = cdk.App(outdir=outdir)
    ServicesStack(app, STACK)
    return app


if __name__ == "__main__":
    build_app().synth()
