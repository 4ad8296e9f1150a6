"""Requests moto would choke on get the answer AWS gives, before they reach moto.

moto assumes well-formed SDK traffic: a body that is not JSON, an unknown ``X-Amz-Target`` or
``Action``, or a missing required member ends in a ``KeyError`` deep inside it. AWS answers those
with a 400 in the protocol's error shape, so this module checks them against botocore's service model
(the same model the SDKs are generated from):

- JSON protocol (DynamoDB, Kinesis, EventBridge, SQS's JSON): ``SerializationException`` for a body
  that is not a JSON object, ``UnknownOperationException`` for a target the service lacks,
  ``ValidationException`` naming the first missing required member in AWS's wording
  (``1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must
  not be null``);
- query protocol (SNS, SQS's form requests): ``InvalidAction`` / ``MissingAction`` in AWS's XML
  ``ErrorResponse``.

Example:
    >>> _camel("TableName")
    'tableName'
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["check_request", "json_error", "query_error"]


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def json_error(
    code: str, message: str, content_type: str, status: int = 400
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A JSON-protocol error answer (``__type`` and ``message``)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))], body


def query_error(
    code: str, message: str, namespace: str, status: int = 400
) -> tuple[int, list[tuple[str, str]], bytes]:
    """A query-protocol error answer (AWS's XML ``ErrorResponse``)."""
    request_id = str(uuid.uuid4())
    text = (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], text.encode()


def check_request(
    model: Any, headers: dict[str, str], body: bytes, query_string: str
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """AWS's 400 for a request the service cannot parse, or None when it may go on to moto.

    ``headers`` has lower-case keys; ``model`` is botocore's ``ServiceModel``.
    """
    target = headers.get("x-amz-target")
    if target:
        content_type = headers.get("content-type") or "application/x-amz-json-1.0"
        prefix, _, operation = target.rpartition(".")
        if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
            return json_error(
                "UnknownOperationException", f"Operation {target} is not supported.", content_type
            )
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return json_error(
                "SerializationException", "Start of structure or map found where not expected.", content_type
            )
        shape = model.operation_model(operation).input_shape
        for member in getattr(shape, "required_members", None) or []:
            if request.get(member) is None:
                message = (
                    f"1 validation error detected: Value null at '{_camel(member)}' failed to satisfy "
                    "constraint: Member must not be null"
                )
                return json_error("ValidationException", message, content_type)
        return None
    if model.protocol == "json" and model.service_name != "sqs":  # SQS also takes query-protocol forms
        content_type = headers.get("content-type") or "application/x-amz-json-1.0"
        return json_error("UnknownOperationException", "Operation (none) is not supported.", content_type)
    if model.service_name in ("sqs", "sns"):
        form = (
            body.decode("utf-8", "replace")
            if headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
            else ""
        )
        params = dict(parse_qsl(query_string)) | dict(parse_qsl(form))
        namespace = f"http://{model.service_name}.amazonaws.com/doc/{model.api_version}/"
        action = params.get("Action")
        if action is None:
            return query_error("MissingAction", "Missing Action", namespace)
        if action not in model.operation_names:
            return query_error(
                "InvalidAction", f"The action {action} is not valid for this web service.", namespace
            )
    return None
