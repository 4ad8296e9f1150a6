"""A closed-loop HTTP/1.1 load generator: N keep-alive connections, one request in flight on each.

Why hand-written: ``make bench`` must need nothing beyond the dev extra, and a load generator built on
an HTTP client library (httpx, aiohttp) spends more CPU per request than the server under test — on a
2-core box that would measure the client. This one is an ``asyncio.Protocol`` per connection that
writes a pre-built request and parses only the status line and ``Content-Length`` of the answer
(about 10 µs of client CPU per request), with uvloop when it is installed.

Each result carries every latency (seconds) and status count, so the caller can derive req/s,
percentiles and "every 200 was counted". Load stays on 127.0.0.1 and is bounded by a duration.

Example:
    >>> import asyncio
    >>> asyncio.run(run_load("127.0.0.1", 1, b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n", 1, 0.0)).requests
    0
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["LoadResult", "percentile", "request_bytes", "run_load"]


def request_bytes(
    method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None, host: str = "127.0.0.1"
) -> bytes:
    """One HTTP/1.1 keep-alive request, built once and written as is for every request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values by nearest rank; 0.0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class LoadResult:
    """What one run measured."""

    connections: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    sent: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        return percentile(self.latencies, q) * 1000


def _content_length(head: bytes) -> int:
    at = head.find(b"content-length:")
    if at < 0:
        return 0
    stop = head.find(b"\r\n", at)
    return int(head[at + 15 : stop if stop > 0 else None])


class _Connection(asyncio.Protocol):
    """One keep-alive connection looping request -> response until the deadline."""

    def __init__(
        self, request: bytes, deadline: float, result: LoadResult, done: asyncio.Future[None], limit: int
    ):
        self.limit = limit
        self.request = request
        self.deadline = deadline
        self.result = result
        self.done = done
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter()
        if self.sent >= self.deadline or self.result.sent >= self.limit:
            self.transport.close()
            return
        self.result.sent += 1
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        length = _content_length(head)
        if len(self.buffer) < end + 4 + length:
            return
        now = time.perf_counter()
        self.result.latencies.append(now - self.sent)
        self.result.statuses[int(head[9:12])] += 1
        del self.buffer[: end + 4 + length]
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or (time.perf_counter() < self.deadline and self.result.sent < self.limit):
            self.result.errors += 1
        if not self.done.done():
            self.done.set_result(None)


async def run_load(
    host: str, port: int, request: bytes, connections: int, seconds: float, limit: int = 10**12
) -> LoadResult:
    """Drive ``connections`` closed loops of ``request`` for ``seconds`` (or ``limit`` requests)."""
    loop = asyncio.get_running_loop()
    result = LoadResult(connections, seconds)
    start = time.perf_counter()
    deadline = start + seconds
    waits = []
    for _ in range(connections):
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(
                lambda d=done: _Connection(request, deadline, result, d, limit), host, port
            )
        except OSError:
            result.errors += 1
            continue
        waits.append(done)
    if waits:
        await asyncio.wait_for(asyncio.gather(*waits), timeout=seconds + 30)
    result.seconds = time.perf_counter() - start if waits else 0.0
    return result
