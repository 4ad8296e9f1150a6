"""Gateway responses: the answers API Gateway itself gives when a request never gets a method response.

Each has AWS's default status, message and ``x-amzn-ErrorType`` (``supported-gateway-response-types``
in the developer guide). API Gateway renders them from the template
``{"message":$context.error.messageString}``, hence the compact body,
except the integration failures' classic ``{"message": "Internal server error"}``.

An ``AWS::ApiGateway::GatewayResponse`` customizes one response type or, through ``DEFAULT_4XX`` /
``DEFAULT_5XX``, every type of that class it does not name: its ``StatusCode``, its
``ResponseParameters`` (``gatewayresponse.header.X`` from a ``'literal'``, ``method.request.*``,
``stageVariables.*`` or ``context.*``) and its templates, rendered with ``$context.error.message``,
``messageString`` (the message as a JSON string) and ``responseType``. CDK apps use these for CORS
headers on errors.

Example:
    >>> GatewayResponseType.MISSING_AUTHENTICATION_TOKEN.body()
    b'{"message":"Missing Authentication Token"}'
    >>> GatewayResponseType.API_CONFIGURATION_ERROR.status
    500
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .errors import GatewayError, GatewayResponseType
from .invocation import GatewayResponse, Invocation
from .java import JavaMap
from .mapping import UTIL, ContextMap, InputBody, Params
from .model import CustomGatewayResponse
from .vtl import TemplateAbort, TemplateFailed

__all__ = ["GatewayError", "GatewayResponseType", "error_response"]

LOG = logging.getLogger(__name__)


def _custom(inv: Invocation, kind: GatewayResponseType) -> CustomGatewayResponse | None:
    if inv.api is None or not inv.api.gateway_responses:
        return None
    table = inv.api.gateway_responses
    return table.get(kind.aws_type) or table.get("DEFAULT_4XX" if kind.status < 500 else "DEFAULT_5XX")


def error_response(inv: Invocation, kind: GatewayResponseType, message: str | None = None) -> GatewayResponse:
    """The response for a gateway error of type ``kind`` (without the request id headers)."""
    text = message if message is not None else kind.message
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind.error_type)]
    custom = _custom(inv, kind)
    if custom is None:
        return GatewayResponse(kind.status, headers, kind.body(message))
    status = kind.status
    if custom.status_code:
        try:
            status = int(custom.status_code)
        except ValueError:
            LOG.warning("gateway response %s: bad status %r", custom.response_type, custom.status_code)
    context = _context(inv, kind, text)
    headers += _headers(inv, custom.parameters, context)
    body = kind.body(message)
    if custom.templates:
        media, template = (
            ("application/json", custom.templates["application/json"])
            if ("application/json" in custom.templates)
            else next(iter(custom.templates.items()))
        )
        variables = {
            "input": InputBody(inv.request.body, inv.params or Params({}, {}, {})),
            "util": UTIL,
            "context": context,
            "stageVariables": inv.stage_variables or JavaMap(),
        }
        try:
            body = template.render(variables).encode()
            headers[0] = ("Content-Type", media)
        except (TemplateFailed, TemplateAbort) as exc:
            LOG.warning("gateway response %s: template failed: %s", custom.response_type, exc)
    return GatewayResponse(status, headers, body)


def _context(inv: Invocation, kind: GatewayResponseType, message: str | None) -> ContextMap:
    error = JavaMap(message=message, messageString=json.dumps(message), responseType=kind.aws_type)
    if inv.context is not None:
        inv.context.hidden["error"] = error
        return inv.context
    visible = {"requestId": inv.request_id, "extendedRequestId": inv.extended_id}
    return ContextMap(visible, {"error": error, "authorizer": JavaMap()})


def _headers(inv: Invocation, mappings: dict[str, str], context: ContextMap) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for dest, source in mappings.items():
        if not dest.startswith("gatewayresponse.header."):
            continue
        value = _source(inv, source, context)
        if value is not None:
            out.append((dest.removeprefix("gatewayresponse.header."), value))
    return out


def _source(inv: Invocation, source: str, context: ContextMap) -> str | None:
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("method.request.header."):
        return inv.request.header(source.removeprefix("method.request.header."))
    if source.startswith("method.request.querystring."):
        return inv.request.query_params().get(source.removeprefix("method.request.querystring."))
    if source.startswith("method.request.path.") and inv.params is not None:
        return inv.params.path.get(source.removeprefix("method.request.path."))
    if source.startswith("stageVariables.") and inv.stage_variables is not None:
        value = inv.stage_variables.get(source.removeprefix("stageVariables."))
        return None if value is None else str(value)
    if source.startswith("context."):
        node: Any = context
        for part in source.removeprefix("context.").split("."):
            try:
                node = node[part] if isinstance(node, dict) else None
            except KeyError:
                node = None
        return None if node is None else str(node)
    return None
