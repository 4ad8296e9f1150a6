"""Which HTTP requests belong to the emulated services (moto) rather than to asyncgate's own.

Decided from the request alone, without importing moto, so a server whose clients never talk to
SQS/SNS/DynamoDB/Kinesis/EventBridge/S3 never pays moto's import. Every AWS SDK signs with SigV4,
and the signature's credential scope names the service the request is for
(``Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/sqs/aws4_request, ...``; a
presigned URL carries the same scope in ``X-Amz-Credential``). An unsigned JSON-protocol request is
recognised by its ``X-Amz-Target`` prefix instead.

Example:
    >>> emulated_service({"authorization": "AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/sqs/aws4_request"}, "")
    'sqs'
    >>> emulated_service({"authorization": "AWS4-HMAC-SHA256 Credential=AK/20261125/us-east-1/states/aws4_request"}, "")
    >>> emulated_service({"x-amz-target": "Kinesis_20131202.PutRecord"}, "")
    'kinesis'
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

__all__ = ["EMULATED_SERVICES", "credential_scope_service", "emulated_service"]

#: SigV4 signing names of the services moto serves here (EventBridge signs as ``events``)
EMULATED_SERVICES: frozenset[str] = frozenset({"sqs", "sns", "dynamodb", "kinesis", "events", "s3"})

#: JSON-protocol target prefixes of those services (for requests that carry no signature)
_TARGET_PREFIXES: dict[str, str] = {
    "AmazonSQS": "sqs",
    "DynamoDB_20120810": "dynamodb",
    "Kinesis_20131202": "kinesis",
    "AWSEvents": "events",
}

_SCOPE = re.compile(r"Credential=[^/,\s]*/\d{8}/[^/]*/([^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"(?:^|&)X-Amz-Credential=([^&]*)")


def credential_scope_service(authorization: str, query_string: str = "") -> str | None:
    """The service name of a SigV4 credential scope (header or presigned query), or None.

    Example:
        >>> credential_scope_service("", "X-Amz-Credential=AK%2F20261125%2Fus-east-1%2Fs3%2Faws4_request")
        's3'
    """
    found = _SCOPE.search(authorization)
    if found:
        return found.group(1)
    if "X-Amz-Credential" in query_string:
        scope = _QUERY_SCOPE.search(query_string)
        if scope:
            parts = unquote(scope.group(1)).split("/")
            if len(parts) == 5:
                return parts[3]
    return None


def emulated_service(headers: Mapping[str, str], query_string: str) -> str | None:
    """The emulated service a request is for, or None when it is not theirs (lower-case header keys)."""
    service = credential_scope_service(headers.get("authorization", ""), query_string)
    if service is None:
        target = headers.get("x-amz-target")
        if target:
            service = _TARGET_PREFIXES.get(target.partition(".")[0])
    return service if service in EMULATED_SERVICES else None
