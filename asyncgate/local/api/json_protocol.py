"""AWS's JSON protocol (``awsJson1_0`` / ``awsJson1_1``): ``X-Amz-Target`` dispatch and error shapes.

Step Functions (``AWSStepFunctions.*``, JSON 1.0) and CloudWatch Logs (``Logs_20140328.*``, JSON 1.1)
speak it: every call is ``POST /`` with the operation in ``X-Amz-Target`` and the input as a JSON
object; errors come back as ``{"__type": "<Code>", "message": "..."}`` with the error's HTTP status,
which is exactly what botocore parses. Hand-written because it is ~100 lines of routing that must
stay in-process (the gateway's AWS integrations call services through the same ``call``).

Example:
    >>> class Echo:
    ...     async def say_hello(self, request): return {"you": request["name"]}
    >>> proto = JsonProtocol({"Echo": Service(Echo(), {"SayHello"})})
    >>> import asyncio
    >>> asyncio.run(proto.call("Echo", "SayHello", b'{"name": "x"}'))
    (200, b'{"you":"x"}')
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asyncgate.local.errors import (
    AwsError,
    SerializationException,
    ServiceException,
    UnknownOperationException,
)
from asyncgate.local.jsontext import compact

__all__ = ["JsonProtocol", "Service", "error_body", "snake_case"]

log = logging.getLogger("asyncgate.api")

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def snake_case(action: str) -> str:
    """``StartSyncExecution`` -> ``start_sync_execution``.

    Example:
        >>> snake_case("DescribeStateMachineForExecution")
        'describe_state_machine_for_execution'
    """
    return _CAMEL.sub("_", action).lower()


def error_body(error: AwsError) -> bytes:
    """The JSON protocol's error document."""
    return _dumps({"__type": error.code, "message": error.message})


def _dumps(value: Any) -> bytes:
    return compact(value).encode()


def _parse(body: bytes) -> dict[str, Any]:
    """A request body: a JSON object, else the SerializationException Step Functions answers."""
    try:
        request = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's stack
        raise SerializationException("Start of structure or map found where not expected.") from None
    if not isinstance(request, dict):
        raise SerializationException("Start of structure or map found where not expected.")
    return request


@dataclass(frozen=True, slots=True)
class Service:
    """A service object and the operations (AWS action names) it serves over the wire.

    Only the listed actions are reachable: a target can never name ``close`` or a private method.
    """

    target: object
    operations: frozenset[str] | set[str]


class JsonProtocol:
    """Routes ``<Prefix>.<Action>`` to ``service.<snake_action>(request)`` and renders the answer.

    ``services`` maps the target prefix (``AWSStepFunctions``, ``Logs_20140328``) to a ``Service``.
    Handlers are bound once, at construction.
    """

    def __init__(self, services: Mapping[str, Service]) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._prefixes = frozenset(services)
        for prefix, service in services.items():
            for action in service.operations:
                method = getattr(service.target, snake_case(action), None)
                if callable(method):
                    self._handlers[(prefix, action)] = method

    def handles(self, prefix: str) -> bool:
        """Whether a target prefix belongs to a service served here."""
        return prefix in self._prefixes

    async def call(
        self, prefix: str, action: str, body: bytes, request: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """Run one operation; returns (HTTP status, JSON body). Never raises.

        ``request`` is ``body`` already parsed, when the caller had to read it first (the IAM check
        of an AWS integration): the JSON is then not parsed a second time.
        """
        try:
            handler = self._handlers.get((prefix, action))
            if handler is None:
                raise UnknownOperationException(f"Operation {action} is not supported.")
            if request is None:
                request = _parse(body)
            return 200, _dumps(await handler(request))
        except AwsError as exc:
            return exc.http_status, error_body(exc)
        except Exception:
            log.exception("%s.%s failed", prefix, action)
            return 500, error_body(ServiceException("An internal error occurred."))

    async def call_target(self, target: str, body: bytes) -> tuple[int, bytes]:
        """Run the operation an ``X-Amz-Target`` header names."""
        prefix, _, action = target.partition(".")
        return await self.call(prefix, action, body)
