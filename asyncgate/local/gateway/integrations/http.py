"""HTTP integrations (``Type: HTTP``): the rendered request goes to the integration URI.

The gateway calls an ``HttpCaller``; ``AsyncioHttpCaller`` is a small HTTP/1.1 client on asyncio streams
(no third-party client is a dependency of the runtime), and tests pass a stub that records the call.
As on AWS, a non-proxy HTTP integration forwards only what request parameters map (and the template's
``$context.requestOverride``): client headers and query strings are not passed on by themselves.

Example:
    >>> expand_uri("http://h/pets/{id}", {"id": "a b"})
    'http://h/pets/a%20b'
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

from .aws import IntegrationResult

__all__ = ["AsyncioHttpCaller", "HttpCaller", "expand_uri"]


class HttpCaller(Protocol):
    """Sends one HTTP request and returns the answer."""

    async def request(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> IntegrationResult:
        """Send ``method url`` with ``headers`` and ``body``."""
        ...


def expand_uri(uri: str, path: Mapping[str, str], query: Mapping[str, str] | None = None) -> str:
    """Substitute ``{name}`` with mapped path parameters, and append mapped query parameters."""
    for name, value in path.items():
        uri = uri.replace("{" + name + "}", quote(value, safe=""))
        uri = uri.replace("{" + name + "+}", quote(value, safe="/"))
    if query:
        uri += ("&" if "?" in uri else "?") + urlencode(dict(query))
    return uri


class AsyncioHttpCaller:
    """A minimal HTTP/1.1 client (``Connection: close``, Content-Length or read-to-EOF bodies)."""

    async def request(
        self, *, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> IntegrationResult:
        """Send the request and read the whole answer."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        port = parts.port or (443 if secure else 80)
        host = parts.hostname or "localhost"
        reader, writer = await asyncio.open_connection(host, port, ssl=secure or None)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close"]
            lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "connection")]
            if body or method not in ("GET", "HEAD"):
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            await writer.drain()
            status_line = await reader.readline()
            status = int(status_line.split()[1])
            answer: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                key, _, value = line.decode("latin-1").partition(":")
                answer[key.strip()] = value.strip()
            length = next((v for k, v in answer.items() if k.lower() == "content-length"), None)
            payload = await (reader.readexactly(int(length)) if length is not None else reader.read())
            return IntegrationResult(status, answer, payload)
        finally:
            writer.close()
