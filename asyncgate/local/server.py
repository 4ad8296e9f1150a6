"""The one ASGI app: REST API stages, AWS's APIs and ``/_asyncgate/*``, on one port.

Only this module touches ASGI. It turns HTTP requests into calls on the runtime — a
``GatewayRequest`` for a REST API stage, an ``X-Amz-Target`` call for the JSON-protocol services, the
Lambda REST routes — and turns their plain results back into responses.

Routing, in order:
    1. ``Host: {restApiId}.execute-api.localhost[:port]`` -> the gateway (``/{stage}/{path}``);
    2. ``/restapis/{restApiId}/{stage}/_user_request_/{path}`` -> the gateway;
    3. ``/_asyncgate/health``, ``/_asyncgate/apis`` and ``/_asyncgate/metrics`` (Prometheus);
    4. ``/2015-03-31/functions...`` -> the Lambda API;
    5. ``POST /`` with ``X-Amz-Target`` -> Step Functions / CloudWatch Logs;
    (before 3-5) a request signed for sqs/sns/dynamodb/kinesis/events/s3 (SigV4 credential scope) ->
       the in-process moto (``aws_services.asgi``).

The gateway's two URL forms (1, 2) and the JSON-protocol calls of the services the runtime serves
itself (5: their ``X-Amz-Target`` prefixes, which moto's services do not share) are matched by
``_HostRouter`` itself, before the moto check and Starlette's router: webhooks are the hot path, boto3
and the AWS CLI put every call through 5, and those layers cost as much per request as the gateway's
own pipeline (py-spy under the intake bench). Any method reaches the gateway, which answers an unknown
one as API Gateway does.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncgate.local.api.json_protocol import error_body
from asyncgate.local.api.lambda_api import routes as lambda_routes
from asyncgate.local.aws_services.asgi import EmulatedServices
from asyncgate.local.errors import SerializationException, UnknownOperationException
from asyncgate.local.gateway.pipeline import GatewayRequest
from asyncgate.local.metrics import METRICS
from asyncgate.local.runtime import Runtime

__all__ = ["MAX_PAYLOAD", "create_app"]

log = logging.getLogger("asyncgate.server")

#: API Gateway's hard payload limit (10 MB); larger bodies get its own 413 (plain text, not JSON).
MAX_PAYLOAD = 10 * 1024 * 1024
_TOO_LARGE = f"HTTP content length exceeded {MAX_PAYLOAD} bytes.".encode()

_EXECUTE_API_HOST = re.compile(r"^([a-z0-9]+)\.execute-api\.localhost(?::\d+)?$", re.IGNORECASE)
#: ``/restapis/{id}/{stage}/_user_request_`` with an optional ``/{path}``
_USER_REQUEST = re.compile(r"^/restapis/([^/]+)/([^/]+)/_user_request_(?:/(.*))?$", re.DOTALL)


class _BodyTooLargeError(Exception):
    pass


async def _read_body(receive: Receive) -> bytes:
    """Read the request body, refusing (without buffering it all) past API Gateway's limit."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PAYLOAD:
            raise _BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class _GatewayEndpoint:
    """ASGI endpoint for REST API stages (both URL forms)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def serve(
        self, scope: Scope, receive: Receive, send: Send, api_id: str, stage: str, path: str
    ) -> None:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            body = await _read_body(receive)
        except _BodyTooLargeError:
            await _send(send, 413, [(b"content-type", b"text; charset=utf-8")], _TOO_LARGE)
            return
        client = scope.get("client")
        request = GatewayRequest(
            method=scope["method"],
            api_id=api_id,
            stage=stage,
            path="/" + path.lstrip("/"),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
            source_ip=client[0] if client else "127.0.0.1",
        )
        response = await self.runtime.gateway.handle(request)
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
        await _send(send, response.status, raw, response.body)


class _AwsJsonEndpoint:
    """ASGI endpoint for ``POST /`` with ``X-Amz-Target``: Step Functions and CloudWatch Logs.

    Starlette routes it (``Route("/")``), and ``_HostRouter`` calls it straight for the targets the
    runtime serves itself: boto3 and the AWS CLI put every call through it, and the layers in
    between (moto's check, Starlette's router, its ``Request``) cost as much as the call's own work.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def served_target(self, scope: Scope) -> str | None:
        """The target of a ``POST /`` the runtime serves itself (not moto's services), else None."""
        if scope["method"] != "POST" or scope["path"] != "/":
            return None
        target = _header(scope, b"x-amz-target")
        return target if self.runtime.protocol.handles(target.partition(".")[0]) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.serve(receive, send, _header(scope, b"x-amz-target"))

    async def serve(self, receive: Receive, send: Send, target: str) -> None:
        """Answer one call to ``target`` (an unknown one with UnknownOperationException)."""
        prefix = target.partition(".")[0]
        json_version = "1.0" if prefix == "AWSStepFunctions" else "1.1"
        content_type = [(b"content-type", f"application/x-amz-json-{json_version}".encode())]
        if not self.runtime.protocol.handles(prefix):
            unknown = UnknownOperationException(f"Operation {target or '(none)'} is not supported.")
            await _send(send, unknown.http_status, content_type, error_body(unknown))
            return
        try:
            body = await _read_body(receive)
        except _BodyTooLargeError:
            error = SerializationException("Request body is too large.")
            await _send(send, 413, content_type, error_body(error))
            return
        status, payload = await self.runtime.protocol.call_target(target, body)
        await _send(send, status, content_type, payload)


def _header(scope: Scope, name: bytes) -> str:
    """A request header's value (the first), or ``""``."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    if not any(k.lower() == b"content-length" for k, _ in headers):
        headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _HostRouter:
    """Sends ``{id}.execute-api.localhost`` requests to the gateway, everything else to ``app``;
    counts every HTTP request and its latency into ``METRICS``."""

    def __init__(self, app: ASGIApp, gateway: _GatewayEndpoint, aws_json: _AwsJsonEndpoint) -> None:
        self.app = app
        self.gateway = gateway
        self.aws_json = aws_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            user_request = _USER_REQUEST.match(scope["path"])
            if user_request:
                api_id, stage, path = user_request.groups()
                await self.gateway.serve(scope, receive, counted, api_id, stage, path or "")
                return
            host = next((v for k, v in scope["headers"] if k == b"host"), b"").decode("latin-1")
            found = _EXECUTE_API_HOST.match(host)
            if found:
                stage, _, path = scope["path"].lstrip("/").partition("/")
                await self.gateway.serve(scope, receive, counted, found.group(1), stage, path)
            elif (target := self.aws_json.served_target(scope)) is not None:
                await self.aws_json.serve(receive, counted, target)
            else:
                await self.app(scope, receive, counted)
        finally:
            METRICS.http_requests.inc(str(status))
            METRICS.http_duration.observe(time.perf_counter() - started)


def create_app(
    runtime: Runtime,
    *,
    host: str = "127.0.0.1",
    port: int = 4566,
    on_ready: Callable[[], None] | None = None,
) -> ASGIApp:
    """The server's ASGI app over a runtime; its lifespan starts and closes the runtime."""
    gateway = _GatewayEndpoint(runtime)
    aws_json = _AwsJsonEndpoint(runtime)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        return Response(METRICS.render(), media_type=METRICS.CONTENT_TYPE)

    async def apis(request: Request) -> Response:
        return JSONResponse([
            {"restApiId": e.rest_api_id, "name": e.name, "stage": e.stage, "url": e.url(host, port)}
            for e in runtime.endpoints
        ])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        if on_ready is not None:
            on_ready()
        try:
            yield
        finally:
            await runtime.close()

    routes: list[Any] = [
        Route("/_asyncgate/health", health, methods=["GET"]),
        Route("/_asyncgate/apis", apis, methods=["GET"]),
        Route("/_asyncgate/metrics", metrics, methods=["GET"]),
        *lambda_routes(runtime.lambdas),
        Route("/", aws_json, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    return _HostRouter(EmulatedServices(app, runtime.aws), gateway, aws_json)
