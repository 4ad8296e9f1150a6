"""AWS service integrations (``Type: AWS``): the rendered request goes to an AWS action.

The gateway does not know the services: it hands the action to an ``AwsCaller`` (the runtime's, which
checks the integration's credentials role with IAM and dispatches to the service method), and gets back
what the service's HTTP API would have answered: a status, headers and a body. API errors are answers
too (Step Functions' ``ExecutionAlreadyExists`` is a 400), which integration responses then select on.

Example:
    >>> import asyncio
    >>> class Echo:
    ...     async def call(self, *, service, action, body, credentials, headers):
    ...         return IntegrationResult(200, {}, body)
    >>> asyncio.run(Echo().call(service="states", action="StartExecution", body=b"{}",
    ...                         credentials=None, headers={})).status
    200
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ...errors import AwsError

__all__ = ["AwsCaller", "IntegrationRequest", "IntegrationResult", "call_aws"]


@dataclass(frozen=True, slots=True)
class IntegrationResult:
    """What the back end answered: HTTP status, headers and body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Lambda custom integrations: the function error's ``errorMessage`` (selection matches it)
    lambda_error: str | None = None


@dataclass(frozen=True, slots=True)
class IntegrationRequest:
    """The integration request after mapping: what the back end receives."""

    body: bytes
    #: integration request headers (request parameters and ``$context.requestOverride.header``)
    headers: dict[str, str]
    #: query string parameters (HTTP integrations)
    query: dict[str, str]
    #: path parameters for ``{name}`` in the integration URI
    path: dict[str, str]


class AwsCaller(Protocol):
    """Implemented by the runtime: IAM check of ``credentials`` for the action, then the service."""

    async def call(
        self,
        *,
        service: str,
        action: str,
        body: bytes,
        credentials: str | None,
        headers: Mapping[str, str],
    ) -> IntegrationResult:
        """Run ``service:action`` with ``body`` (the rendered request) as the caller role."""
        ...


async def call_aws(
    aws: AwsCaller, *, service: str, action: str, credentials: str | None, request: IntegrationRequest
) -> IntegrationResult:
    """Call the action; an ``AwsError`` the caller raises becomes the answer AWS's API would give."""
    try:
        return await aws.call(
            service=service,
            action=action,
            body=request.body,
            credentials=credentials,
            headers=request.headers,
        )
    except AwsError as exc:
        body = json.dumps({"__type": exc.code, "message": exc.message}).encode()
        return IntegrationResult(exc.http_status, {"Content-Type": "application/x-amz-json-1.0"}, body)
