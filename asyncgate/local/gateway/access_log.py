"""Stage access logs: ``AccessLogSetting`` (``DestinationArn``, ``Format``) written after each request.

API Gateway writes one line per request to the log group named by the destination ARN, in the
stage's ``Format``: each ``$context.name`` (``$context.identity.sourceIp``, ``$context.status``,
``$context.responseLength``, ``$context.authorizer.principalId``, ``$context.error.message``, ...)
replaced by its value, and ``-`` where there is none (developer guide, "Set up CloudWatch logging
for REST APIs"). The format is split into literal text and variable paths once, at load.

Example:
    >>> log = AccessLog.parse({"DestinationArn": "arn:aws:logs:us-east-1:000000000000:log-group:g",
    ...     "Format": '{"id":"$context.requestId","ip":"$context.identity.sourceIp","u":"$context.user"}'})
    >>> log.group, log.render({"requestId": "r1", "identity": {"sourceIp": "1.2.3.4"}})
    ('g', '{"id":"r1","ip":"1.2.3.4","u":"-"}')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the invocation module imports the model, which imports this one
    from .invocation import GatewayResponse, Invocation

__all__ = ["AccessLog", "access_log_context"]

_VARIABLE = re.compile(r"\$(?:context\.([A-Za-z0-9_.\-]*[A-Za-z0-9_])|\{context\.([A-Za-z0-9_.\-]+)\})")


@dataclass(frozen=True, slots=True)
class AccessLog:
    """A stage's access log destination and compiled format."""

    group: str
    #: literal text (str) and variable paths (tuple of keys), in order
    pieces: tuple[str | tuple[str, ...], ...]

    @classmethod
    def parse(cls, raw: Any) -> AccessLog | None:
        """From ``AccessLogSetting``; None without a log group destination."""
        if not isinstance(raw, dict):
            return None
        arn = str(raw.get("DestinationArn") or "")
        if ":log-group:" not in arn:
            return None  # Kinesis Data Firehose destinations are not served
        group = arn.split(":log-group:", 1)[1].removesuffix(":*")
        fmt = str(raw.get("Format") or "$context.requestId")
        pieces: list[str | tuple[str, ...]] = []
        last = 0
        for match in _VARIABLE.finditer(fmt):
            pieces.append(fmt[last : match.start()])
            pieces.append(tuple((match.group(1) or match.group(2)).split(".")))
            last = match.end()
        pieces.append(fmt[last:])
        return cls(group, tuple(p for p in pieces if p != ""))

    def render(self, context: Mapping[str, Any]) -> str:
        """One line for a request whose ``$context`` (with the response's fields) is ``context``.

        Runs after every request of a logging stage: the common values (text, whole numbers, the
        dicts ``$context`` is made of) are told apart by their exact class, before the general
        checks (``isinstance(x, Mapping)`` goes through the ABC machinery, ~0.5 µs each).
        """
        out: list[str] = []
        for piece in self.pieces:
            if piece.__class__ is str:
                out.append(piece)
                continue
            value: Any = context
            for key in piece:
                value = value.get(key) if _is_mapping(value) else None
            cls = value.__class__
            if cls is str:
                out.append(value or "-")
            elif cls is int:
                out.append(str(value))
            elif value is None or value == "" or _is_mapping(value):
                out.append("-")
            elif isinstance(value, bool):
                out.append("true" if value else "false")
            else:
                out.append(str(value))
        return "".join(out)


def _is_mapping(value: Any) -> bool:
    """``isinstance(value, Mapping)``, with dicts (and their subclasses) answered without the ABC."""
    return isinstance(value, (dict, Mapping))


def access_log_context(inv: Invocation, response: GatewayResponse, done: float) -> dict[str, Any]:
    """``$context`` as the access log sees it: the request's, plus the response's fields
    (``status``, ``responseLength``, ``responseLatency``, ``integrationLatency``, ``error.*``)."""
    context: dict[str, Any] = {}
    if inv.context is not None:
        context.update(inv.context.hidden)
        context.update(inv.context)
    error = dict(context.get("error") or {})
    if not any(k == "x-amzn-ErrorType" for k, _ in response.headers):
        error = {}  # a gateway response for an earlier stage would leave its message behind
    context.update(
        requestId=inv.request_id,
        extendedRequestId=inv.extended_id,
        status=response.status,
        responseLength=len(response.body),
        responseLatency=int((done - inv.now) * 1000),
        integrationLatency=inv.integration_ms,
        integrationStatus=inv.result.status if inv.result is not None else None,
        error=error,
    )
    context.setdefault("identity", {"sourceIp": inv.request.source_ip})
    context.setdefault("httpMethod", inv.request.method.upper())
    return context
