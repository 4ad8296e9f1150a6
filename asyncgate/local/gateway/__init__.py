"""API Gateway REST APIs: routing, VTL mapping templates, integrations, response selection.

Public API:

- ``build_rest_apis(stack) -> list[RestApi]``: the stack's ``AWS::ApiGateway::*`` resources, compiled.
- ``Gateway(apis, aws=..., lambdas=None, http=None)`` with ``await gateway.handle(GatewayRequest)
  -> GatewayResponse`` (plain dataclasses; no ASGI here). It never raises.
- ``AwsCaller`` (protocol the runtime implements) and ``IntegrationResult``; ``HttpCaller`` and the
  default ``AsyncioHttpCaller`` for HTTP integrations.

Example:
    >>> from asyncgate.local.assembly import Resource, Stack
    >>> api = Resource("Api", "AWS::ApiGateway::RestApi", {"Name": "demo"}, "abc123",
    ...                {"RootResourceId": "r0"})
    >>> get = Resource("Get", "AWS::ApiGateway::Method", {"RestApiId": "abc123", "ResourceId": "r0",
    ...     "HttpMethod": "GET",
    ...     "Integration": {"Type": "MOCK", "IntegrationResponses": [{"StatusCode": "200"}]}}, "m")
    >>> stage = Resource("Stage", "AWS::ApiGateway::Stage",
    ...                  {"RestApiId": "abc123", "StageName": "main"}, "main")
    >>> gateway = Gateway(build_rest_apis(Stack("s", {"a": api, "g": get, "s": stage}, {})), aws=None)
    >>> import asyncio
    >>> asyncio.run(gateway.handle(GatewayRequest("GET", "abc123", "main", "/"))).status
    200
"""

from .integrations.aws import AwsCaller, IntegrationRequest, IntegrationResult
from .integrations.http import AsyncioHttpCaller, HttpCaller
from .model import RestApi, Stage, build_rest_apis
from .pipeline import MAX_PAYLOAD_BYTES, Gateway, GatewayRequest, GatewayResponse

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "AsyncioHttpCaller",
    "AwsCaller",
    "Gateway",
    "GatewayRequest",
    "GatewayResponse",
    "HttpCaller",
    "IntegrationRequest",
    "IntegrationResult",
    "RestApi",
    "Stage",
    "build_rest_apis",
]
