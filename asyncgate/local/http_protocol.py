"""uvicorn's HTTP/1.1 protocol, sending each response in one write instead of two.

Why: uvicorn writes a response's head when the app sends ``http.response.start`` and its body when
the app sends ``http.response.body``: two ``send()`` system calls per response. On loopback each one
also runs the receiving side of TCP and wakes the client, so under the intake bench the second write
was ~13% of the server's main thread (py-spy) and woke every client twice.

``CoalescingProtocol`` hands uvicorn's protocol a ``CoalescingTransport`` that holds a response head
until the next write, which is nearly always its body, sent at once in the same loop iteration: the
two leave in one ``write``, with no delay. A head that nothing follows in that iteration (a streamed
body, an interim ``100 Continue``) leaves at the iteration's end (one ``call_soon``); ``close()`` and
``abort()`` send it first. Other writes go straight through, and everything else is the real
transport's. (Holding every write to the iteration's end, as a first version did, joined no more and
delayed each answer behind the rest of the iteration's requests: p50 up, req/s down.)

Only the transport is wrapped; uvicorn's parser, flow control and keep-alive handling are its own.

Example:
    >>> import asyncio
    >>> class Sink(asyncio.Transport):
    ...     def __init__(self): super().__init__(); self.writes = []
    ...     def write(self, data): self.writes.append(bytes(data))
    >>> async def respond():
    ...     sink = Sink()
    ...     out = CoalescingTransport(sink, asyncio.get_running_loop())
    ...     out.write(b"HTTP/1.1 200 OK\\r\\n\\r\\n"); out.write(b"{}")
    ...     out.write(b"HTTP/1.1 100 Continue\\r\\n\\r\\n")  # nothing follows: sent at the iteration's end
    ...     await asyncio.sleep(0)
    ...     return sink.writes
    >>> asyncio.run(respond())
    [b'HTTP/1.1 200 OK\\r\\n\\r\\n{}', b'HTTP/1.1 100 Continue\\r\\n\\r\\n']
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["CoalescingProtocol", "CoalescingTransport"]


class CoalescingTransport(asyncio.Transport):
    """A transport that sends a response head together with the write that follows it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:  # the body after a held head: both leave now, in one write
            self._held = None
            self._transport.write(held + data)
        elif data[:5] == b"HTTP/":  # a response head: its body usually follows at once
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
        elif data:
            self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def flush(self) -> None:
        """Send a head still held (no body followed it in this loop iteration)."""
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self.flush()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()


class CoalescingProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport`` (``uvicorn.Config(http=...)``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
