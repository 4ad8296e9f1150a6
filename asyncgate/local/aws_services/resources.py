"""The resource ARN a request to an emulated service names, as IAM judges it.

Shared by the engine's service tasks and the gateway's AWS integrations: both check the calling role's
policy for ``<service>:<Action>`` on this ARN before the call reaches moto.

Example:
    >>> resource_arn("sqs", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/000000000000/q"})
    'arn:aws:sqs:us-east-1:000000000000:q'
    >>> resource_arn("kinesis", {"StreamName": "s"})
    'arn:aws:kinesis:us-east-1:000000000000:stream/s'
"""

from __future__ import annotations

from typing import Any

from asyncgate.local.arns import DEFAULT_ACCOUNT, DEFAULT_REGION

__all__ = ["resource_arn"]


def resource_arn(
    service: str, request: dict[str, Any], region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT
) -> str:
    """The queue, topic, table, stream, bus or bucket/object ARN a request names; ``*`` for none."""
    if service == "sqs" and isinstance(url := request.get("QueueUrl"), str):
        return f"arn:aws:sqs:{region}:{account}:{url.rstrip('/').rsplit('/', 1)[-1]}"
    if service == "sns":
        return str(request.get("TopicArn") or request.get("TargetArn") or "*")
    if service == "dynamodb" and isinstance(table := request.get("TableName"), str):
        return table if table.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    if service == "kinesis":
        if isinstance(stream_arn := request.get("StreamARN"), str):
            return stream_arn
        if isinstance(stream := request.get("StreamName"), str):
            return f"arn:aws:kinesis:{region}:{account}:stream/{stream}"
    if service == "events":
        entries = request.get("Entries")
        first = entries[0] if isinstance(entries, list) and entries and isinstance(entries[0], dict) else {}
        bus = str(first.get("EventBusName") or request.get("EventBusName") or "default")
        return bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}"
    if service == "s3" and isinstance(bucket := request.get("Bucket"), str):
        key = request.get("Key")
        return f"arn:aws:s3:::{bucket}/{key}" if isinstance(key, str) else f"arn:aws:s3:::{bucket}"
    return "*"
