"""The server's HTTP/1.1 protocol (``http_protocol.py``) against a live ``asyncgate up``, over raw sockets.

It holds a response head until the body that follows it; these are the cases where nothing follows at
once, or where several answers share a connection, so a head held too long (or lost, or sent twice)
shows up as a hang or a malformed stream.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from tests.conftest import LiveServer

_BODY = json.dumps({"order": 7}).encode()


def _head(server: LiveServer, method: str, extra: str = "", length: int = len(_BODY)) -> bytes:
    path = urlsplit(server.api_url()).path
    return (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n{extra}\r\n"
    ).encode()


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[bytes, bytes]:
    """One response (status line + headers, body by Content-Length) off the stream."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed mid-head: {bytes(buffer)!r}"
        buffer += chunk
    end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(buffer) < end + length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        buffer += chunk
    body = bytes(buffer[end : end + length])
    del buffer[: end + length]
    return head, body


def test_pipelined_requests_get_whole_answers_in_order(server: LiveServer) -> None:
    request = _head(server, "POST") + _BODY
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request * 3 + _head(server, "GET", length=0))
        buffer = bytearray()
        answers = [_read_response(sock, buffer) for _ in range(4)]
    for head, body in answers[:3]:
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert json.loads(body) == {"status": "webhook submitted"}
    assert answers[3][0].startswith(b"HTTP/1.1 403 "), answers[3][0]  # no GET method: API Gateway's 403
    assert json.loads(answers[3][1]) == {"message": "Missing Authentication Token"}
    assert not buffer


def test_interim_100_continue_is_sent_while_the_client_waits(server: LiveServer) -> None:
    """``100 Continue`` has no body after it; it must still leave before the client sends its body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(_head(server, "POST", "Expect: 100-continue\r\n"))
        buffer = bytearray()
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            assert chunk
            buffer += chunk
        assert bytes(buffer).startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), bytes(buffer)
        del buffer[: len(b"HTTP/1.1 100 Continue\r\n\r\n")]
        sock.sendall(_BODY)
        head, body = _read_response(sock, buffer)
    assert head.startswith(b"HTTP/1.1 200 "), head
    assert json.loads(body) == {"status": "webhook submitted"}
