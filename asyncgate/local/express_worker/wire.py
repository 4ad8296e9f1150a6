"""The frames between the server and its Express worker process: length-prefixed pickles, batched.

Why pickle: both ends are this package in the same interpreter build, started by the server itself
over a private socketpair, so nothing untrusted can reach the stream; pickle carries the runtime's
own dataclasses (a ``Revision``, a ``FunctionConfig``) without a second schema.

Why batched: an ``Outbox`` collects the messages of one event-loop iteration and writes them as one
frame at its end, so a burst of webhooks costs the kernel one write and the peer one wake-up, not one
per message (the same reasoning as the store's group commit).

Example:
    >>> frame = encode([("start", 1)])
    >>> decode(frame[HEADER.size:])
    [('start', 1)]
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import struct
from typing import Any

__all__ = ["HEADER", "Outbox", "decode", "encode", "read_frame"]

HEADER = struct.Struct("!I")
Message = tuple[Any, ...]


def encode(messages: list[Message]) -> bytes:
    """One frame holding ``messages``."""
    body = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> list[Message]:
    """The messages of one frame's body."""
    messages: list[Message] = pickle.loads(body)
    return messages


async def read_frame(reader: asyncio.StreamReader) -> list[Message] | None:
    """The next frame's messages, or None at the end of the stream."""
    try:
        (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        return decode(await reader.readexactly(size))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


class Outbox:
    """Messages to the peer, written as one frame per event-loop iteration."""

    __slots__ = ("_loop", "_pending", "_writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._pending: list[Message] = []
        self._loop = asyncio.get_running_loop()

    def send(self, message: Message) -> None:
        """Queue ``message``; the frame goes out at the end of this iteration."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(message)

    def flush(self) -> None:
        """Write what is queued now (a closed peer is noticed by the reader, not here)."""
        if not self._pending:
            return
        messages, self._pending = self._pending, []
        if not self._writer.is_closing():
            self._writer.write(encode(messages))

    async def drain(self) -> None:
        """Flush, then wait until the kernel took the bytes."""
        self.flush()
        if not self._writer.is_closing():
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
