"""The typed objects of a request: GatewayRequest in, Invocation between stages, GatewayResponse out.

``GatewayRequest``/``GatewayResponse`` are plain data so that only ``server.py`` knows ASGI. An
``Invocation`` carries what the stages learn about one request (its method, parameters, ``$context``),
in place of an untyped scope dict.

Example:
    >>> r = GatewayRequest("POST", "abc123", "main", "/", "a=1&a=2&b", [("Content-Type", "text/plain")])
    >>> r.query_params(), r.header("content-type")
    ({'a': '2', 'b': ''}, 'text/plain')
"""

from __future__ import annotations

import base64
import functools
import random
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ..arns import DEFAULT_ACCOUNT, DEFAULT_REGION
from ..ids import random_hex, random_uuid
from .auth import Grant
from .integrations.aws import IntegrationResult
from .java import JavaMap
from .mapping import ContextMap, InputBody, OpaqueMap, Params
from .model import IntegrationResponse, Method, RestApi, Stage

__all__ = ["GatewayRequest", "GatewayResponse", "Invocation", "media_type", "new_ids"]


@dataclass(frozen=True, slots=True)
class GatewayRequest:
    """A client's call to a deployed stage."""

    method: str
    api_id: str
    stage: str
    #: the path after the stage, starting with ``/`` (decoded)
    path: str
    #: the raw query string, without ``?``
    query_string: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    def query_params(self) -> dict[str, str]:
        """Query string parameters, the last value of each name (as ``$input.params()`` shows them)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True)) if self.query_string else {}


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """What the client receives."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def media_type(value: str | None) -> str | None:
    """The media type of a ``Content-Type``/``Accept`` value: parameters dropped, lower-cased."""
    if not value:
        return None
    return value.split(";", 1)[0].strip().lower() or None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_ids(now: float) -> tuple[str, str, str]:
    """(requestId, extendedRequestId / x-amz-apigw-id, X-Amzn-Trace-Id) in AWS's shapes."""
    # unique, not secret (``ids.py``): no system call for randomness on every request
    extended = base64.b64encode(random.getrandbits(96).to_bytes(12, "big")).decode()[:15] + "="
    return random_uuid(), extended, f"Root=1-{int(now):08x}-{random_hex(24)}"


def _request_time(now: float) -> str:
    return _request_second(int(now))


@functools.lru_cache(maxsize=8)
def _request_second(now: int) -> str:
    """``$context.requestTime`` (``25/Nov/2026:13:03:54 +0000``), formatted once per second."""
    t = time.gmtime(now)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{clock} +0000"


@dataclass(slots=True)
class Invocation:
    """One request on its way through the stages (see ``Gateway.handle``)."""

    request: GatewayRequest
    now: float
    request_id: str
    extended_id: str
    trace_id: str
    api: RestApi | None = None
    stage: Stage | None = None
    method: Method | None = None
    params: Params | None = None
    context: ContextMap | None = None
    stage_variables: JavaMap | None = None
    #: the rendered (or passed-through) integration request body
    integration_body: bytes = b""
    result: IntegrationResult | None = None
    response: IntegrationResponse | None = None
    resource_path: str = ""
    #: proxy integrations answer the client directly, bypassing integration responses
    proxy_response: GatewayResponse | None = None
    #: what the method's Lambda authorizer granted
    grant: Grant | None = None
    #: milliseconds from the request's arrival to the integration's answer (``$context.integrationLatency``)
    integration_ms: int | None = None

    def template_variables(self, payload: bytes) -> dict[str, Any]:
        """``$input`` over ``payload``, with ``$util``, ``$context`` and ``$stageVariables``."""
        from .mapping import UTIL

        assert self.params is not None
        return {
            "input": InputBody(payload, self.params),
            "util": UTIL,
            "context": self.context,
            "stageVariables": self.stage_variables,
        }

    def build_context(self, resource_path: str, path_params: dict[str, str]) -> None:
        """Fill ``params``, ``$context`` and ``$stageVariables`` once the method is known."""
        req = self.request
        assert self.api is not None and self.stage is not None and self.method is not None
        self.resource_path = resource_path
        headers = {k: v for k, v in req.headers}
        self.params = Params(path_params, req.query_params(), headers)
        identity = OpaqueMap(
            cognitoIdentityPoolId=None,
            accountId=None,
            cognitoIdentityId=None,
            caller=None,
            sourceIp=req.source_ip,
            principalOrgId=None,
            accessKey=None,
            cognitoAuthenticationType=None,
            cognitoAuthenticationProvider=None,
            userArn=None,
            userAgent=req.header("User-Agent"),
            user=None,
        )
        api_id = self.api.api_id
        canary = self.stage.canary
        # PercentTraffic of the stage's requests go to the canary (its deployment, its variable overrides)
        is_canary = canary is not None and random.random() * 100 < canary.percent_traffic
        host = req.header("Host") or f"{api_id}.execute-api.{DEFAULT_REGION}.amazonaws.com"
        visible: dict[str, Any] = {
            "resourceId": self.method.resource_id,
            "resourcePath": resource_path,
            "httpMethod": req.method.upper(),
            "extendedRequestId": self.extended_id,
            "requestTime": _request_time(self.now),
            "path": f"/{self.stage.name}{req.path}",
            "accountId": DEFAULT_ACCOUNT,
            "protocol": "HTTP/1.1",
            "requestOverride": OpaqueMap(path=OpaqueMap(), header=OpaqueMap(), querystring=OpaqueMap()),
            "stage": self.stage.name,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(self.now * 1000),
            "requestId": self.request_id,
            "identity": identity,
            "domainName": host.split(":", 1)[0],
            "deploymentId": canary.deployment_id if canary and is_canary else self.stage.deployment_id,
            "responseOverride": OpaqueMap(header=OpaqueMap()),
            "apiId": api_id,
        }
        hidden: dict[str, Any] = {
            "authorizer": JavaMap(),
            "isCanaryRequest": is_canary,
            "error": JavaMap(message=None, messageString=None, responseType=None),
        }
        self.context = ContextMap(visible, hidden)
        variables = self.stage.variables
        if canary is not None and is_canary:
            variables = {**variables, **canary.variable_overrides}
        self.stage_variables = JavaMap(variables)

    def request_context(self) -> dict[str, Any]:
        """``requestContext`` of a Lambda proxy event: ``$context`` without the template-only parts."""
        assert self.context is not None
        skip = ("requestOverride", "responseOverride")
        out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.context.items() if k not in skip}
        if self.grant is not None:
            out["authorizer"] = self.grant.request_context()
        return out
