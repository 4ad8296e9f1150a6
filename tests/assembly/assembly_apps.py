"""Small CDK apps synthesized by the assembly tests.

They exercise every intrinsic the loader resolves, on real `cdk synth` output rather than hand-written
templates, so a change in how CDK renders a construct shows up here first.
"""

from __future__ import annotations

import os
from pathlib import Path

# before aws_cdk starts its jsii runtime, which prints a banner on Node 20
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

__all__ = ["MAIN_STACK", "NESTED_STACK", "SHARED_STACK", "synth_main_app"]

MAIN_STACK = "AgMain"
SHARED_STACK = "AgShared"
NESTED_STACK = "Prod-AgInner"
HANDLER = "def handler(event, context):\n    return {'ok': True, 'event': event}\n"


class SharedStack(cdk.Stack):
    """Exports a value that the main stack imports (Fn::ImportValue across stacks)."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        queue = sqs.Queue(self, "SharedQueue")
        cdk.CfnOutput(self, "QueueArnOut", value=queue.queue_arn, export_name="ag-shared-queue-arn")


class MainStack(cdk.Stack):
    """The async hand-off in miniature, plus one of each intrinsic and resource kind we resolve."""

    def __init__(self, scope: Construct, id: str, *, code_dir: Path) -> None:
        super().__init__(scope, id)
        stage_param = cdk.CfnParameter(self, "DeployStage", default="dev", allowed_values=["dev", "prod"])
        greeting = cdk.CfnParameter(self, "Greeting", default="hello")
        names = cdk.CfnParameter(self, "Names", type="CommaDelimitedList", default="ann,bob,cy")
        is_prod = cdk.CfnCondition(
            self, "IsProd", expression=cdk.Fn.condition_equals(stage_param.value_as_string, "prod")
        )
        not_prod = cdk.CfnCondition(self, "NotProd", expression=cdk.Fn.condition_not(is_prod))
        cdk.CfnCondition(
            self,
            "DevAndHello",
            expression=cdk.Fn.condition_and(
                not_prod,
                cdk.Fn.condition_or(
                    cdk.Fn.condition_equals(greeting.value_as_string, "hello"),
                    cdk.Fn.condition_equals(greeting.value_as_string, "hi"),
                ),
            ),
        )

        processor = lambda_.Function(
            self,
            "Processor",
            function_name="ag-test-processor",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(code_dir)),
            environment={
                "SUB": cdk.Fn.sub("${AWS::StackName}-${Greeting}-${!Literal}"),
                "SUB_VARS": cdk.Fn.sub("${Name}@${AWS::Region}", {"Name": greeting.value_as_string}),
                "SELECT": cdk.Fn.select(1, names.value_as_list),
                "SPLIT": cdk.Fn.select(1, cdk.Fn.split("/", cdk.Fn.sub("x/${Greeting}/z"))),
                "SUB_ATT": cdk.Fn.sub("role=${ProcessorRole.Arn}"),
                "JOIN": cdk.Fn.join(":", [cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID, cdk.Aws.URL_SUFFIX]),
                "IF": cdk.Fn.condition_if("IsProd", "prod-value", "dev-value").to_string(),
                "AZ": cdk.Fn.select(0, cdk.Fn.get_azs()),
                "B64": cdk.Fn.base64("hi"),
                "IMPORTED": cdk.Fn.import_value("ag-shared-queue-arn"),
            },
        )
        role_child = processor.role.node.default_child if processor.role else None
        assert isinstance(role_child, iam.CfnRole)
        role_child.override_logical_id("ProcessorRole")  # so Fn::Sub can name it: ${ProcessorRole.Arn}
        # A generated name (no function_name), inline code.
        helper = lambda_.Function(
            self,
            "Helper",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER),
        )
        cfn_helper = helper.node.default_child
        assert isinstance(cfn_helper, lambda_.CfnFunction)
        cfn_helper.add_property_override(
            "Environment.Variables.OPTIONAL", cdk.Fn.condition_if("IsProd", "x", cdk.Aws.NO_VALUE)
        )
        cfn_helper.add_property_override("Environment.Variables.PROCESSOR", processor.function_arn)

        log_group = logs.LogGroup(
            self,
            "MachineLogs",
            log_group_name="/aws/vendedlogs/states/ag-test",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        logs.LogGroup(self, "GeneratedLogs", removal_policy=cdk.RemovalPolicy.DESTROY)
        machine = sfn.StateMachine(
            self,
            "Machine",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(
                tasks.LambdaInvoke(self, "Process", lambda_function=processor, payload_response_only=True)
            ),
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL),
        )

        api_role = iam.Role(self, "ApiRole", assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"))
        machine.grant_start_execution(api_role)
        api = apigw.RestApi(
            self, "Api", rest_api_name="ag-test-api", deploy_options=apigw.StageOptions(stage_name="v1")
        )
        api.root.add_resource("submit").add_method(
            "POST",
            apigw.AwsIntegration(
                service="states",
                action="StartExecution",
                options=apigw.IntegrationOptions(
                    credentials_role=api_role,
                    request_templates={
                        "application/json": cdk.Fn.sub(
                            '{"stateMachineArn": "${Arn}", "input": "$util.escapeJavaScript($input.body)"}',
                            {"Arn": machine.state_machine_arn},
                        )
                    },
                    integration_responses=[apigw.IntegrationResponse(status_code="200")],
                ),
            ),
            method_responses=[apigw.MethodResponse(status_code="200")],
        )

        # Conditional resources: the first is dropped (IsProd is false by default).
        dropped = sqs.CfnQueue(self, "ProdOnlyQueue")
        dropped.cfn_options.condition = is_prod
        kept = sns.CfnTopic(self, "DevOnlyTopic")
        kept.cfn_options.condition = not_prod

        # Ids and attributes per type.
        table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            stream=dynamodb.StreamViewType.NEW_IMAGE,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        stream = kinesis.Stream(self, "Stream", stream_name="ag-test-stream")
        bucket = s3.Bucket(self, "Bucket", removal_policy=cdk.RemovalPolicy.DESTROY)
        bus = events.EventBus(self, "Bus", event_bus_name="ag-test-bus")
        events.Rule(self, "Rule", event_bus=bus, event_pattern=events.EventPattern(source=["ag"]))
        fifo = sqs.Queue(self, "Fifo", fifo=True)
        topic = sns.Topic(self, "Topic")

        # Types we do not serve: a custom resource and an unknown AWS type.
        cdk.CfnResource(
            self, "Custom", type="Custom::Thing", properties={"ServiceToken": helper.function_arn}
        )
        unknown = cdk.CfnResource(self, "Unknown", type="AWS::Foo::Bar", properties={"Size": 3})

        for name, value in {
            "ApiUrl": api.url,
            "TableStreamArn": table.table_stream_arn or "",
            "StreamArn": stream.stream_arn,
            "BucketDomain": bucket.bucket_domain_name,
            "BucketArn": bucket.bucket_arn,
            "BusArn": bus.event_bus_arn,
            "FifoName": fifo.queue_name,
            "FifoUrl": fifo.queue_url,
            "TopicName": topic.topic_name,
            "UnknownArn": unknown.get_att("Arn").to_string(),
            "UnknownThing": unknown.get_att("Thing.Nested").to_string(),
            "RoleId": api_role.role_id,
        }.items():
            cdk.CfnOutput(self, name, value=value)
        prod_out = cdk.CfnOutput(self, "ProdOnly", value="p")
        prod_out.condition = is_prod


class InnerStack(cdk.Stack):
    """A stack inside a ``cdk.Stage``: synthesized into a nested assembly directory."""

    def __init__(self, scope: Construct, id: str, *, code_dir: Path) -> None:
        super().__init__(scope, id)
        lambda_.Function(
            self,
            "Inner",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_asset(str(code_dir)),
        )


def synth_main_app(outdir: Path) -> Path:
    """Synthesize the test app into ``outdir`` (created) and return it."""
    code_dir = outdir.parent / f"{outdir.name}-src"
    code_dir.mkdir(parents=True, exist_ok=True)
    (code_dir / "index.py").write_text(HANDLER)
    app = cdk.App(outdir=str(outdir))
    SharedStack(app, SHARED_STACK)
    MainStack(app, MAIN_STACK, code_dir=code_dir)
    stage = cdk.Stage(app, "Prod")
    InnerStack(stage, "AgInner", code_dir=code_dir)
    app.synth()
    return outdir
