"""The Lambda proxy event (REST, payload format 1.0) of a request on its way through the gateway.

Both an ``AWS_PROXY`` integration and a ``REQUEST`` authorizer receive it (the authorizer without
``body``/``isBase64Encoded``, plus ``type`` and ``methodArn``). A body of one of the API's binary media
types travels base64-encoded.

Example:
    >>> from .invocation import media_type
    >>> media_type("Application/JSON; charset=utf-8")
    'application/json'
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from .integrations.lambdas import proxy_event
from .invocation import Invocation, media_type

__all__ = ["proxy_event_of", "request_authorizer_event"]


def proxy_event_of(inv: Invocation) -> bytes:
    """The ``AWS_PROXY`` event of the request, as JSON bytes."""
    assert inv.api is not None and inv.params is not None and inv.stage_variables is not None
    req = inv.request
    return proxy_event(
        resource=inv.resource_path,
        path=req.path,
        method=req.method.upper(),
        headers=list(req.headers),
        query=parse_qsl(req.query_string, keep_blank_values=True),
        path_params=inv.params.path,
        stage_variables=inv.stage_variables,
        request_context=inv.request_context(),
        body=req.body,
        binary=inv.api.is_binary(media_type(req.header("Content-Type"))),
    )


def request_authorizer_event(inv: Invocation) -> dict[str, Any]:
    """A ``REQUEST`` authorizer's event fields: the proxy event's, without the body."""
    event: dict[str, Any] = json.loads(proxy_event_of(inv))
    del event["body"], event["isBase64Encoded"]
    return event
