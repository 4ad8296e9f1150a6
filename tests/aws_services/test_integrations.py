"""Task integrations and gateway integrations over a real in-process moto (no server, no mocks).

Each test runs the calls the engine or the gateway makes — ``ServiceTasks.invoke`` with the resource
and effective Parameters of a Task state, ``EmulatedIntegrations.call`` with a rendered integration
request — against ``AwsServices`` and checks the result and error shapes Step Functions and API
Gateway document. moto's state is process-wide, so every test uses its own resource names.
"""

from __future__ import annotations

import asyncio
import doctest
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from asyncgate.local.aws_services import asgi, bridge, integrations, provision, resources, routing, wire
from asyncgate.local.aws_services.bridge import AwsServices
from asyncgate.local.aws_services.integrations import EmulatedIntegrations
from asyncgate.local.iam import Iam
from asyncgate.local.states import sdk_tasks
from asyncgate.local.states.errors import StatesError
from asyncgate.local.states.sdk_tasks import ACTING_ROLE, ServiceTasks

ROLE = "arn:aws:iam::000000000000:role/nobody"
SDK = "arn:aws:states:::aws-sdk:"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _with_aws(test: Callable[[AwsServices, ServiceTasks], Awaitable[None]]) -> None:
    async def main() -> None:
        aws = AwsServices()
        try:
            await test(aws, ServiceTasks(aws, Iam.from_stacks([])))
        finally:
            aws.close()

    asyncio.run(main())


async def _failure(tasks: ServiceTasks, resource: str, payload: dict[str, Any]) -> StatesError:
    with pytest.raises(StatesError) as raised:
        await tasks.invoke(resource, payload, timeout_s=None)
    return raised.value


@pytest.mark.parametrize(
    "module", [bridge, routing, resources, provision, integrations, asgi, wire, sdk_tasks]
)
def test_docstring_examples(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


def test_routing_reads_the_credential_scope_and_leaves_our_services_alone() -> None:
    def scope(service: str) -> dict[str, str]:
        return {
            "authorization": f"AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        }

    assert [routing.emulated_service(scope(s), "") for s in ("sqs", "events", "s3")] == [
        "sqs",
        "events",
        "s3",
    ]
    for ours in ("states", "logs", "lambda", "execute-api"):
        assert routing.emulated_service(scope(ours), "") is None
    assert routing.emulated_service({"x-amz-target": "DynamoDB_20120810.GetItem"}, "") == "dynamodb"
    assert routing.emulated_service({"x-amz-target": "AWSStepFunctions.StartExecution"}, "") is None
    assert routing.emulated_service({}, "") is None


def test_dynamodb_optimized_item_calls() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        table = _name("orders")
        await aws.call(
            "dynamodb",
            "CreateTable",
            {
                "TableName": table,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            },
        )
        key = {"id": {"S": "o-1"}}
        put = await tasks.invoke(
            "arn:aws:states:::dynamodb:putItem",
            {"TableName": table, "Item": {**key, "n": {"N": "1"}}},
            timeout_s=None,
        )
        assert put["SdkHttpMetadata"]["HttpStatusCode"] == 200 and put["SdkResponseMetadata"]["RequestId"]
        updated = await tasks.invoke(
            "arn:aws:states:::dynamodb:updateItem",
            {
                "TableName": table,
                "Key": key,
                "UpdateExpression": "SET n = n + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "UPDATED_NEW",
            },
            timeout_s=None,
        )
        assert updated["Attributes"] == {"n": {"N": "2"}}
        got = await tasks.invoke(
            "arn:aws:states:::dynamodb:getItem", {"TableName": table, "Key": key}, timeout_s=None
        )
        assert got["Item"] == {"id": {"S": "o-1"}, "n": {"N": "2"}}
        await tasks.invoke(
            "arn:aws:states:::dynamodb:deleteItem", {"TableName": table, "Key": key}, timeout_s=None
        )
        gone = await tasks.invoke(SDK + "dynamodb:getItem", {"TableName": table, "Key": key}, timeout_s=None)
        assert gone == {}  # the SDK's result: no Item, no ResponseMetadata

    _with_aws(test)


def test_error_names_follow_the_sdk_integration_convention() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        missing = {"TableName": _name("missing"), "Key": {"id": {"S": "x"}}}
        sdk = await _failure(tasks, SDK + "dynamodb:getItem", missing)
        assert sdk.error == "DynamoDb.ResourceNotFoundException"
        assert sdk.cause is not None and "(Service: DynamoDb, Status Code: 400, Request ID: " in sdk.cause
        optimized = await _failure(tasks, "arn:aws:states:::dynamodb:getItem", missing)
        assert optimized.error == "DynamoDB.ResourceNotFoundException"
        assert optimized.cause is not None
        assert (
            "(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ResourceNotFoundException;"
            in optimized.cause
        )
        # S3's NoSuchKey has no Exception suffix of its own; Step Functions adds it
        bucket = _name("bucket")
        await aws.call("s3", "CreateBucket", {"Bucket": bucket})
        s3 = await _failure(tasks, SDK + "s3:getObject", {"Bucket": bucket, "Key": "nope"})
        assert s3.error == "S3.NoSuchKeyException"
        queue = await _failure(
            tasks,
            SDK + "sqs:sendMessage",
            {
                "QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/" + _name("none"),
                "MessageBody": "x",
            },
        )
        assert queue.error == "Sqs.QueueDoesNotExistException"

    _with_aws(test)


def test_s3_sdk_calls_take_and_give_text_bodies() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        bucket = _name("bucket")
        await tasks.invoke(SDK + "s3:createBucket", {"Bucket": bucket}, timeout_s=None)
        put = await tasks.invoke(
            SDK + "s3:putObject", {"Bucket": bucket, "Key": "a.json", "Body": {"x": 1}}, timeout_s=None
        )
        assert put["ETag"]
        got = await tasks.invoke(SDK + "s3:getObject", {"Bucket": bucket, "Key": "a.json"}, timeout_s=None)
        assert got["Body"] == '{"x":1}'
        assert got["LastModified"].endswith("Z") and got["ContentLength"] == 7

    _with_aws(test)


def test_sns_publish_and_eventbridge_put_events_send_objects_as_json_text() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        topic = (await aws.call("sns", "CreateTopic", {"Name": _name("topic")}))["TopicArn"]
        published = await tasks.invoke(
            "arn:aws:states:::sns:publish", {"TopicArn": topic, "Message": {"a": 1}}, timeout_s=None
        )
        assert set(published) >= {"MessageId", "SdkHttpMetadata", "SdkResponseMetadata"}
        sent = await tasks.invoke(
            "arn:aws:states:::events:putEvents",
            {"Entries": [{"Source": "ag.test", "DetailType": "Order", "Detail": {"order": 1}}]},
            timeout_s=None,
        )
        assert sent["FailedEntryCount"] == 0 and len(sent["Entries"]) == 1 and sent["Entries"][0]["EventId"]

    _with_aws(test)


def test_the_acting_role_is_checked_before_the_call() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        stream = _name("stream")
        await aws.call("kinesis", "CreateStream", {"StreamName": stream, "ShardCount": 1})
        ACTING_ROLE.set(ROLE)
        denied = await _failure(
            tasks, SDK + "kinesis:putRecord", {"StreamName": stream, "Data": "x", "PartitionKey": "k"}
        )
        # Kinesis models AccessDeniedException
        assert denied.error == "Kinesis.AccessDeniedException"
        assert (
            denied.cause is not None
            and "is not authorized to perform: kinesis:PutRecord on resource: "
            f"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"
            in denied.cause
        )
        ACTING_ROLE.set("")
        records = await aws.call("kinesis", "ListShards", {"StreamName": stream})
        assert records["Shards"]  # the stream exists; nothing was put

    _with_aws(test)


def test_gateway_integrations_answer_as_the_services_http_apis() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        gateway = EmulatedIntegrations(aws, Iam.from_stacks([]))

        async def call(service: str, action: str, body: Any, role: str | None = None) -> tuple[int, Any]:
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            result = await gateway.call(
                service=service, action=action, body=raw, credentials=role, headers={}
            )
            return result.status, json.loads(result.body or b"null")

        table = _name("table")
        await aws.call(
            "dynamodb",
            "CreateTable",
            {
                "TableName": table,
                "BillingMode": "PAY_PER_REQUEST",
                "KeySchema": [
                    {"AttributeName": "pk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "AttributeDefinitions": [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
            },
        )
        item = {"pk": {"S": "a"}, "sk": {"S": "1"}}
        assert await call("dynamodb", "PutItem", {"TableName": table, "Item": item}) == (200, {})
        status, got = await call("dynamodb", "GetItem", {"TableName": table, "Key": item})
        assert (status, got["Item"]) == (200, item)
        status, found = await call(
            "dynamodb",
            "Query",
            {
                "TableName": table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": "a"}},
            },
        )
        assert (status, found["Count"]) == (200, 1)
        status, error = await call("dynamodb", "GetItem", {"TableName": _name("none"), "Key": item})
        assert status == 400 and error["__type"].endswith("ResourceNotFoundException")

        stream = _name("stream")
        await aws.call("kinesis", "CreateStream", {"StreamName": stream, "ShardCount": 1})
        status, put = await call(
            "kinesis", "PutRecord", {"StreamName": stream, "Data": "aGk=", "PartitionKey": "k"}
        )
        assert status == 200 and put["ShardId"] == "shardId-000000000000"

        status, events = await call(
            "events", "PutEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}"}]}
        )
        assert (status, events["FailedEntryCount"]) == (200, 0)

        topic = (await aws.call("sns", "CreateTopic", {"Name": _name("topic")}))["TopicArn"]
        status, published = await call("sns", "Publish", f"TopicArn={topic}&Message=hello")
        assert status == 200 and published["PublishResponse"]["PublishResult"]["MessageId"]

        queue = _name("queue")
        await aws.call("sqs", "CreateQueue", {"QueueName": queue})
        status, sent = await call(
            "sqs",
            "SendMessage",
            f"MessageBody=hi&QueueUrl=https://sqs.us-east-1.amazonaws.com/000000000000/{queue}",
        )
        assert status == 200 and sent["SendMessageResponse"]["SendMessageResult"]["MessageId"]
        status, missing = await call(
            "sqs", f"path/000000000000/{_name('none')}", "Action=SendMessage&MessageBody=x"
        )
        assert status == 400 and missing["Error"]["Code"] == "QueueDoesNotExist"

        # a credentials role without the permission: the service's AccessDenied, by protocol
        status, denied = await call("dynamodb", "PutItem", {"TableName": table, "Item": item}, role=ROLE)
        assert status == 400 and denied["__type"] == "AccessDeniedException"
        assert denied["Message"].startswith("User: arn:aws:sts::000000000000:assumed-role/nobody/")
        status, denied = await call(
            "sqs", f"path/000000000000/{queue}", "Action=SendMessage&MessageBody=x", role=ROLE
        )
        assert status == 403 and denied["Error"]["Code"] == "AccessDenied"

    _with_aws(test)


def test_provision_creates_template_resources_idempotently_and_wires_sqs_subscriptions() -> None:
    from asyncgate.local.assembly import Resource, Stack

    topic_name, queue_name = _name("topic"), _name("queue")
    topic_arn = f"arn:aws:sns:us-east-1:000000000000:{topic_name}"
    queue_arn = f"arn:aws:sqs:us-east-1:000000000000:{queue_name}"
    queue_url = f"https://sqs.us-east-1.amazonaws.com/000000000000/{queue_name}"
    stack = Stack(
        name="Prov",
        resources={
            # the subscription first: provisioning orders it after its topic and queue
            "Sub": Resource(
                "Sub",
                "AWS::SNS::Subscription",
                {
                    "TopicArn": topic_arn,
                    "Protocol": "sqs",
                    "Endpoint": queue_arn,
                    "RawMessageDelivery": True,
                },
                f"{topic_arn}:sub",
            ),
            "Topic": Resource("Topic", "AWS::SNS::Topic", {}, topic_arn, {"TopicName": topic_name}),
            "Queue": Resource(
                "Queue", "AWS::SQS::Queue", {"VisibilityTimeout": 30}, queue_url, {"QueueName": queue_name}
            ),
        },
        assets={},
    )

    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        first = await provision.provision(aws, [stack])
        assert await provision.provision(aws, [stack]) == first  # a second start finds them: no error
        assert set(first) == {topic_arn, queue_url, f"{topic_arn}:sub"}
        attributes = await aws.call(
            "sqs", "GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["All"]}
        )
        assert attributes["Attributes"]["VisibilityTimeout"] == "30"
        await aws.call("sns", "Publish", {"TopicArn": topic_arn, "Message": "raw"})
        received = await aws.call("sqs", "ReceiveMessage", {"QueueUrl": queue_url})
        assert [m["Body"] for m in received["Messages"]] == ["raw"]

    _with_aws(test)


def test_a_gateway_integration_to_a_service_not_served_says_so() -> None:
    async def test(aws: AwsServices, tasks: ServiceTasks) -> None:
        gateway = EmulatedIntegrations(aws, Iam.from_stacks([]))
        result = await gateway.call(
            service="s3", action="path/bucket/key", body=b"", credentials=None, headers={}
        )
        assert result.status == 500
        assert json.loads(result.body) == {"message": "Service s3 is not served locally by asyncgate"}

    _with_aws(test)
