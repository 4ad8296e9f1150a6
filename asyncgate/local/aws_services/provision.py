"""Create the template's SQS queues, SNS topics and their SQS subscriptions, DynamoDB tables, Kinesis
streams, event buses and S3 buckets in moto at start-up, under the names ``asyncgate.local.assembly``
gives them.

Names come from the assembly, not from moto, so the ARNs and queue URLs a state machine definition or
an integration URI holds (resolved from ``Ref``/``Fn::GetAtt``) are exactly the ones moto serves:
``https://sqs.us-east-1.amazonaws.com/000000000000/<name>``, ``arn:aws:kinesis:...:stream/<name>``.

moto keeps its state in memory, so every start creates them afresh; "already exists" answers are
taken as success, which makes provisioning idempotent within a process too. A resource moto refuses
is logged and left out — one odd property must not stop the server. SNS subscriptions other than
SQS ones are not delivered (logged); a subscription's ARN and a table's ``StreamArn`` label are
moto's, not the ones the template's ``Ref``/``GetAtt`` resolved to.

Example:
    >>> sorted(PROVISIONED_TYPES)[:2]
    ['AWS::DynamoDB::Table', 'AWS::Events::EventBus']
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from asyncgate.local.assembly import Resource, Stack

from .bridge import AwsServices, ServiceCallError

__all__ = ["PROVISIONED_TYPES", "provision"]

log = logging.getLogger("asyncgate.aws_services")

_EXISTS = frozenset({
    "QueueAlreadyExists", "QueueNameExists", "ResourceInUseException", "ResourceAlreadyExistsException",
    "BucketAlreadyOwnedByYou", "BucketAlreadyExists",
})


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


_QUEUE_ATTRIBUTES = (
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
    "FifoThroughputLimit", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
    "RedrivePolicy", "RedriveAllowPolicy",
)


def _queue(r: Resource) -> tuple[str, str, dict[str, Any]]:
    attributes = {k: _text(r.properties[k]) for k in _QUEUE_ATTRIBUTES if k in r.properties}
    return "sqs", "CreateQueue", {"QueueName": str(r.attributes["QueueName"]), "Attributes": attributes}


def _topic(r: Resource) -> tuple[str, str, dict[str, Any]]:
    attributes = {
        k: _text(r.properties[k])
        for k in ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId")
        if k in r.properties
    }
    return "sns", "CreateTopic", {"Name": str(r.attributes["TopicName"]), "Attributes": attributes}


_NUMBERS = frozenset({"ReadCapacityUnits", "WriteCapacityUnits"})


def _numbers(value: Any) -> Any:
    """CloudFormation accepts ``"5"`` for a capacity; the DynamoDB API wants a number."""
    if isinstance(value, dict):
        return {k: int(v) if k in _NUMBERS and str(v).isdigit() else _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def _table(r: Resource) -> tuple[str, str, dict[str, Any]]:
    p = _numbers(r.properties)
    params: dict[str, Any] = {
        "TableName": r.physical_id,
        "KeySchema": p.get("KeySchema", []),
        "AttributeDefinitions": p.get("AttributeDefinitions", []),
    }
    if "ProvisionedThroughput" in p and p.get("BillingMode") != "PAY_PER_REQUEST":
        params["ProvisionedThroughput"] = p["ProvisionedThroughput"]
    else:
        params["BillingMode"] = "PAY_PER_REQUEST"
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if p.get(key):
            params[key] = p[key]
    if (stream := p.get("StreamSpecification")) and stream.get("StreamViewType"):
        params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return "dynamodb", "CreateTable", params


def _stream(r: Resource) -> tuple[str, str, dict[str, Any]]:
    p = r.properties
    params: dict[str, Any] = {"StreamName": r.physical_id}
    mode = (p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    if mode == "ON_DEMAND":
        params["StreamModeDetails"] = {"StreamMode": "ON_DEMAND"}
    else:
        params["ShardCount"] = int(p.get("ShardCount", 1))
    return "kinesis", "CreateStream", params


def _subscription(r: Resource) -> tuple[str, str, dict[str, Any]]:
    p = r.properties
    attributes = {
        k: _text(p[k])
        for k in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy")
        if k in p
    }
    params = {"TopicArn": str(p.get("TopicArn")), "Protocol": str(p.get("Protocol")),
              "Endpoint": str(p.get("Endpoint")), "Attributes": attributes, "ReturnSubscriptionArn": True}
    return "sns", "Subscribe", params


def _bus(r: Resource) -> tuple[str, str, dict[str, Any]]:
    return "events", "CreateEventBus", {"Name": r.physical_id}


def _bucket(r: Resource) -> tuple[str, str, dict[str, Any]]:
    return "s3", "CreateBucket", {"Bucket": r.physical_id}


_CREATORS: dict[str, Callable[[Resource], tuple[str, str, dict[str, Any]]]] = {
    "AWS::SQS::Queue": _queue,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
    "AWS::DynamoDB::Table": _table,
    "AWS::Kinesis::Stream": _stream,
    "AWS::Events::EventBus": _bus,
    "AWS::S3::Bucket": _bucket,
}

#: the resource types created in moto (the runtime no longer lists them as "not served")
PROVISIONED_TYPES: frozenset[str] = frozenset(_CREATORS)


async def provision(aws: AwsServices, stacks: Iterable[Stack]) -> list[str]:
    """Create every provisioned-type resource of ``stacks``; returns the physical ids created."""
    created: list[str] = []
    resources = [r for stack in stacks for r in stack.resources.values() if r.type in _CREATORS]
    # subscriptions after the topics and queues they join; only SQS endpoints are delivered in moto
    resources.sort(key=lambda r: r.type == "AWS::SNS::Subscription")
    for resource in resources:
        creator = _CREATORS[resource.type]
        if resource.type == "AWS::SNS::Subscription" and resource.properties.get("Protocol") != "sqs":
            log.warning("SNS subscription %s (%s) is not delivered locally", resource.logical_id,
                        resource.properties.get("Protocol"))
            continue
        service, action, params = creator(resource)
        try:
            await aws.call(service, action, params)
        except ServiceCallError as exc:
            if exc.code not in _EXISTS:
                log.warning("%s %s not created locally: %s", resource.type, resource.physical_id, exc)
                continue
        except Exception as exc:  # botocore's parameter validation, or moto refusing a property
            log.warning("%s %s not created locally: %s", resource.type, resource.physical_id, exc)
            continue
        created.append(resource.physical_id)
    return created
