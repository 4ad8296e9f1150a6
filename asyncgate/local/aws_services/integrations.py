"""API Gateway ``Type: AWS`` integrations to the emulated services, as the runtime's ``AwsCaller`` sees them.

URI forms (``asyncgate.local.gateway.model``): ``arn:aws:apigateway:REGION:sqs:action/SendMessage``
arrives as action ``SendMessage``; ``...:sqs:path/000000000000/my-queue`` as ``path/000000000000/my-queue``,
with the action in the form body (``Action=SendMessage&MessageBody=...``), as AWS's SQS integration
tutorial and CDK's examples write it.

- **JSON-protocol services** (DynamoDB, Kinesis, EventBridge): the rendered body is the service's
  request, sent with ``X-Amz-Target: <prefix>.<Action>``; the answer is the service's own HTTP
  response, errors included (``{"__type": "ResourceNotFoundException", ...}`` with its status).
- **Query-protocol services** (SQS, SNS): the body is a form (or, for convenience, a JSON object of
  the action's parameters). API Gateway asks these services for JSON, so the answer is AWS's
  query-JSON shape: ``{"SendMessageResponse": {"SendMessageResult": {...}, "ResponseMetadata":
  {"RequestId": ...}}}``, and errors ``{"Error": {"Type", "Code", "Message"}, "RequestId"}``.

The integration's credentials role must allow ``<service>:<Action>`` on the named resource; a denial
is the service's AccessDenied answer (JSON services: 400 ``AccessDeniedException``; SQS and SNS: 403
``AccessDenied``), which the method's integration responses then select on by status.

Not supported: query-string request parameters for action URIs and S3 object paths (the ``AwsCaller``
interface carries the body and headers only, not the integration's query string or HTTP method);
those, and services other than these five, answer 500 with a message saying so.

Example:
    >>> query_params("Action=SendMessage&MessageBody=hello+world&DelaySeconds=2")
    ('SendMessage', {'MessageBody': 'hello world', 'DelaySeconds': 2})
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from asyncgate.local.gateway.integrations.aws import IntegrationResult

from .bridge import AwsServices, ServiceCallError, aws_host
from .resources import resource_arn

__all__ = ["GATEWAY_SERVICES", "EmulatedIntegrations", "query_params"]

log = logging.getLogger("asyncgate.aws_services")

#: JSON-protocol services: target prefix and content type
_JSON_SERVICES: dict[str, tuple[str, str]] = {
    "dynamodb": ("DynamoDB_20120810", "application/x-amz-json-1.0"),
    "kinesis": ("Kinesis_20131202", "application/x-amz-json-1.1"),
    "events": ("AWSEvents", "application/x-amz-json-1.1"),
}
_QUERY_SERVICES = frozenset({"sqs", "sns"})
#: services a gateway AWS integration can reach here
GATEWAY_SERVICES: frozenset[str] = frozenset(_JSON_SERVICES) | _QUERY_SERVICES
_INTEGER_PARAMS = frozenset({"DelaySeconds", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds"})
_JSON = {"Content-Type": "application/json"}


def query_params(body: str) -> tuple[str | None, dict[str, Any]]:
    """A query-protocol form body -> (``Action``, flat parameters); ``Version`` is dropped."""
    action: str | None = None
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        if key == "Action":
            action = value
        elif key != "Version":
            params[key] = int(value) if key in _INTEGER_PARAMS and value.isdigit() else value
    return action, params


class EmulatedIntegrations:
    """IAM-checked gateway calls to SQS, SNS, DynamoDB, Kinesis and EventBridge on moto."""

    def __init__(self, aws: AwsServices, iam: Any) -> None:
        self.aws = aws
        self.iam = iam

    async def call(
        self, *, service: str, action: str, body: bytes, credentials: str | None, headers: Mapping[str, str]
    ) -> IntegrationResult:
        """Run the integration; answers what the service's HTTP API would (never raises)."""
        if service not in GATEWAY_SERVICES:
            message = f"Service {service} is not served locally by asyncgate"
            return IntegrationResult(500, dict(_JSON), json.dumps({"message": message}).encode())
        try:
            if service in _JSON_SERVICES:
                return await self._json(service, action, body, credentials)
            return await self._query(service, action, body, credentials)
        except Exception:  # the emulator failed: the service's 500, the server keeps serving
            log.exception("gateway integration %s %s failed", service, action)
            body = json.dumps({"__type": "InternalFailure", "message": "Internal server error"}).encode()
            return IntegrationResult(500, dict(_JSON), body)

    def _denied(self, service: str, action: str, request: dict[str, Any], role: str | None) -> str | None:
        if not role:
            return None
        iam_action = f"{service}:{action}"
        resource = resource_arn(service, request, self.aws.region, self.aws.account)
        if self.iam.is_allowed(role, iam_action, resource):
            return None
        return str(self.iam.denial_message(role, iam_action, resource))

    async def _json(self, service: str, action: str, body: bytes, role: str | None) -> IntegrationResult:
        prefix, content_type = _JSON_SERVICES[service]
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        denied = self._denied(service, action, request if isinstance(request, dict) else {}, role)
        if denied is not None:
            error = {"__type": "AccessDeniedException", "Message": denied}
            return IntegrationResult(400, {"Content-Type": content_type}, json.dumps(error).encode())
        answer = await self.aws.handle(
            service, "POST", "/", "",
            [("X-Amz-Target", f"{prefix}.{action}"), ("Content-Type", content_type),
             ("Host", aws_host(service, self.aws.region))],
            body or b"{}",
        )
        return IntegrationResult(answer.status, dict(answer.headers), answer.body)

    async def _query(self, service: str, action: str, body: bytes, role: str | None) -> IntegrationResult:
        text = body.decode("utf-8", "replace").strip()
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except ValueError:
                loaded = {}
            form_action, params = None, loaded if isinstance(loaded, dict) else {}
        else:
            form_action, params = query_params(text)
        if action.startswith("path/"):
            path = action.removeprefix("path/").strip("/")
            if service == "sqs" and path and "QueueUrl" not in params:
                params["QueueUrl"] = f"https://{aws_host('sqs', self.aws.region)}/{path}"
            action = form_action or ""
        request_id = str(uuid.uuid4())
        if not action:
            message = "The request must contain the parameter Action."
            return _query_error(400, "MissingAction", message, request_id)
        denied = self._denied(service, action, params, role)
        if denied is not None:
            return _query_error(403, "AccessDenied", denied, request_id)
        try:
            result = await self.aws.call(service, action, params)
        except ServiceCallError as exc:
            return _query_error(exc.status, exc.code, exc.message, exc.request_id or request_id)
        except Exception as exc:  # botocore's parameter validation: the service's own 400
            return _query_error(400, "ValidationError", str(exc), request_id)
        meta = result.pop("ResponseMetadata", {})
        document = {
            f"{action}Response": {
                f"{action}Result": result,
                "ResponseMetadata": {"RequestId": meta.get("RequestId") or request_id},
            }
        }
        return IntegrationResult(200, dict(_JSON), json.dumps(document, default=str).encode())


def _query_error(status: int, code: str, message: str, request_id: str) -> IntegrationResult:
    document = {"Error": {"Type": "Sender", "Code": code, "Message": message}, "RequestId": request_id}
    return IntegrationResult(status, dict(_JSON), json.dumps(document).encode())
