"""ASGI middleware: requests for the emulated services go to moto, everything else passes on.

It sits in front of the server's own app (``server.py``), so it decides first, but only claims a
request whose SigV4 credential scope (or unsigned ``X-Amz-Target``) names one of
``EMULATED_SERVICES``: Step Functions, CloudWatch Logs, Lambda and execute-api requests never match
and keep their routes. The decision reads headers only — moto is not imported for it.

An exception inside moto is answered as AWS answers its own failures (HTTP 500, ``InternalFailure``)
and logged; the server keeps serving.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from .bridge import AwsServices
from .routing import emulated_service

__all__ = ["EmulatedServices"]

log = logging.getLogger("asyncgate.aws_services")


class EmulatedServices:
    """``EmulatedServices(app, aws)``: an ASGI app that routes emulated-service requests to ``aws``."""

    def __init__(self, app: ASGIApp, aws: AwsServices) -> None:
        self.app = app
        self.aws = aws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        service = emulated_service(headers, query)
        if service is None:
            await self.app(scope, receive, send)
            return
        body = await _read_all(receive)
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        try:
            answer = await self.aws.handle(
                service, scope["method"], path, query,
                [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]], body,
            )
            status, out, payload = answer.status, answer.headers, answer.body
        except Exception:  # a moto bug must not take the server down
            log.exception("%s: %s %s failed in the emulator", service, scope["method"], path)
            status = 500
            out = [("Content-Type", "application/x-amz-json-1.1")]
            payload = json.dumps({"__type": "InternalFailure", "message": "Internal server error"}).encode()
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out]
        if not any(k.lower() == b"content-length" for k, _ in raw):
            raw.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


async def _read_all(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
