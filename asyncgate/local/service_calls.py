"""Calls to AWS services made *as a principal*: an IAM check, then the service's own operation.

API Gateway's AWS integrations call Step Functions with the integration's credentials role, and the
workflow's tasks call services with the state machine's role. On AWS both are signed requests that
IAM judges before the service sees them; here the same happens in-process: ``ServiceCaller.call``
evaluates the role's identity policies for ``<service>:<Action>`` on the resource the request names,
answers ``AccessDeniedException`` (HTTP 400, as Step Functions does) when they do not allow it, and
otherwise runs the operation through the same ``JsonProtocol`` the wire uses — so the integration
response mapping sees byte for byte what a real backend would send.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asyncgate.local.api.json_protocol import JsonProtocol, error_body
from asyncgate.local.errors import AccessDeniedException
from asyncgate.local.gateway.integrations.aws import IntegrationResult
from asyncgate.local.iam import Iam

__all__ = ["ServiceCaller", "TargetService"]


def _field(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda request: str(request.get(name) or "*")


@dataclass(frozen=True, slots=True)
class TargetService:
    """How one AWS service is reached: its JSON target prefix, content type and IAM resource rule."""

    prefix: str
    content_type: str
    #: action -> the request field naming the resource IAM judges ("*" when none)
    resources: Mapping[str, Callable[[dict[str, Any]], str]]


STATES = TargetService(
    prefix="AWSStepFunctions",
    content_type="application/x-amz-json-1.0",
    resources={
        "StartExecution": _field("stateMachineArn"),
        "StartSyncExecution": _field("stateMachineArn"),
        "DescribeStateMachine": _field("stateMachineArn"),
        "ListExecutions": _field("stateMachineArn"),
        "DescribeExecution": _field("executionArn"),
        "StopExecution": _field("executionArn"),
        "GetExecutionHistory": _field("executionArn"),
    },
)

LOGS = TargetService(prefix="Logs_20140328", content_type="application/x-amz-json-1.1", resources={})


class ServiceCaller:
    """The gateway's ``AwsCaller``: IAM-checked in-process calls to the services served here."""

    def __init__(
        self, protocol: JsonProtocol, iam: Iam, services: Mapping[str, TargetService], *, emulated: Any = None
    ) -> None:
        self._protocol = protocol
        self._iam = iam
        self._services = dict(services)
        #: the AwsCaller for the services moto emulates (``aws_services.integrations``), or None
        self._emulated = emulated

    async def call(
        self,
        *,
        service: str,
        action: str,
        body: bytes,
        credentials: str | None,
        headers: Mapping[str, str],
    ) -> IntegrationResult:
        """Run ``service:action`` as ``credentials`` (a role ARN); never raises."""
        target = self._services.get(service)
        if target is None and self._emulated is not None:
            emulated: IntegrationResult = await self._emulated.call(
                service=service, action=action, body=body, credentials=credentials, headers=headers
            )
            return emulated
        if target is None:
            message = f"Service {service} is not served locally by asyncgate"
            return IntegrationResult(status=500, headers={}, body=json.dumps({"message": message}).encode())
        response_headers = {"Content-Type": target.content_type}
        request: dict[str, Any] | None = None  # the body, when IAM had to read it: parsed once
        if credentials:
            resource = "*"
            rule = target.resources.get(action)
            if rule is not None:
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = None  # the operation answers SerializationException when it parses
                if isinstance(parsed, dict):
                    resource = rule(parsed)
                    request = parsed
            iam_action = f"{service}:{action}"
            if not self._iam.is_allowed(credentials, iam_action, resource):
                denied = AccessDeniedException(self._iam.denial_message(credentials, iam_action, resource))
                return IntegrationResult(status=denied.http_status, headers=response_headers,
                                         body=error_body(denied))
        status, payload = await self._protocol.call(target.prefix, action, body, request)
        return IntegrationResult(status=status, headers=response_headers, body=payload)
