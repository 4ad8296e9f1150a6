"""Lambda back ends: the custom (``Type: AWS``) integration and the proxy (``AWS_PROXY``) one.

Custom integration: the rendered request template is the event; a successful result is the
integration body and takes the default integration response; a function error's document (``errorMessage``,
``errorType``, ``stackTrace``) is the body and ``errorMessage`` is what selection patterns match
(IntegrationResponse reference: "For Lambda back ends, the pattern is matched against the error message").

Proxy integration: the request becomes the REST ``1.0`` event (``resource``, ``path``, ``headers``,
``multiValueHeaders``, ``queryStringParameters``, ``pathParameters``, ``stageVariables``,
``requestContext``, ``body``, ``isBase64Encoded``), and the function's ``{statusCode, headers,
multiValueHeaders, body, isBase64Encoded}`` becomes the response. A function error or a malformed
answer is 502 ``{"message": "Internal server error"}``, as API Gateway answers.

Example:
    >>> function_from_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    ...                   "arn:aws:lambda:us-east-1:000000000000:function:f/invocations")
    'arn:aws:lambda:us-east-1:000000000000:function:f'
    >>> parse_proxy_answer(b'{"statusCode": 201, "headers": {"a": "b"}, "body": "hi"}')
    (201, [('a', 'b')], b'hi')
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Protocol

from .aws import IntegrationResult

__all__ = [
    "LambdaInvoker",
    "function_from_uri",
    "invoke_custom",
    "parse_proxy_answer",
    "proxy_event",
]


class LambdaInvoker(Protocol):
    """What the gateway needs of ``LambdaService``."""

    async def invoke(self, name_or_arn: str, payload: bytes, *, invocation_type: str = ...) -> Any:
        """Invoke; the result has ``payload: bytes`` and ``function_error: str | None``."""
        ...


def function_from_uri(uri: str) -> str | None:
    """The function ARN inside a Lambda integration URI, or None when it is not one."""
    marker = ":lambda:path/2015-03-31/functions/"
    if marker not in uri:
        return None
    rest = uri.split(marker, 1)[1]
    return rest.removesuffix("/invocations")


async def invoke_custom(lambdas: LambdaInvoker, function: str, event: bytes) -> IntegrationResult:
    """Invoke for a custom integration; ``lambda_error`` carries the error message to select on."""
    result = await lambdas.invoke(function, event)
    if result.function_error is None:
        return IntegrationResult(200, {"Content-Type": "application/json"}, result.payload)
    try:
        document = json.loads(result.payload)
        message = document.get("errorMessage") if isinstance(document, dict) else None
    except ValueError:
        message = None
    return IntegrationResult(
        200, {"Content-Type": "application/json"}, result.payload, lambda_error=str(message or "")
    )


def _single(pairs: list[tuple[str, str]]) -> dict[str, str] | None:
    return dict(pairs) or None


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]] | None:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out or None


def proxy_event(
    *,
    resource: str,
    path: str,
    method: str,
    headers: list[tuple[str, str]],
    query: list[tuple[str, str]],
    path_params: Mapping[str, str],
    stage_variables: Mapping[str, str],
    request_context: dict[str, Any],
    body: bytes,
    binary: bool = False,
) -> bytes:
    """The ``AWS_PROXY`` event (payload format 1.0) as JSON bytes.

    A body of one of the API's binary media types is base64-encoded (``isBase64Encoded: true``);
    other bodies are text (base64 only when they are not UTF-8).
    """
    text: str | None
    encoded = False
    if not body:
        text = None
    elif binary:
        text, encoded = base64.b64encode(body).decode("ascii"), True
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    event = {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": _single(headers),
        "multiValueHeaders": _multi(headers),
        "queryStringParameters": _single(query),
        "multiValueQueryStringParameters": _multi(query),
        "pathParameters": dict(path_params) or None,
        "stageVariables": dict(stage_variables) or None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": encoded,
    }
    return json.dumps(event).encode()


class MalformedProxyAnswer(ValueError):  # noqa: N818 - reads as what it reports
    """The function's answer is not ``{statusCode, headers, body}``: API Gateway answers 502."""


def parse_proxy_answer(payload: bytes, *, decode: bool = True) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) from a proxy function's answer; MalformedProxyAnswer when invalid.

    ``decode``: whether an ``isBase64Encoded`` body becomes bytes (the client's first ``Accept`` type
    is one of the API's binary media types); otherwise the client gets the base64 text, as on AWS.
    """
    try:
        answer = json.loads(payload)
    except ValueError as exc:
        raise MalformedProxyAnswer("Malformed Lambda proxy response") from exc
    if not isinstance(answer, dict) or not set(answer) <= {
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
        "cookies",
    }:
        raise MalformedProxyAnswer("Malformed Lambda proxy response")
    try:
        status = int(answer.get("statusCode", 200))
    except (TypeError, ValueError) as exc:
        raise MalformedProxyAnswer("Malformed Lambda proxy response") from exc
    headers: list[tuple[str, str]] = []
    for key, value in (answer.get("headers") or {}).items():
        headers.append((str(key), str(value)))
    for key, values in (answer.get("multiValueHeaders") or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyAnswer("Malformed Lambda proxy response")
        headers += [(str(key), str(v)) for v in values if (str(key), str(v)) not in headers]
    body = answer.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise MalformedProxyAnswer("Malformed Lambda proxy response")
    elif answer.get("isBase64Encoded") and decode:
        data = base64.b64decode(body)
    else:
        data = body.encode()
    return status, headers, data
