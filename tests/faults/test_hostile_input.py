"""A barrage of hostile input on a live server: every request gets an HTTP answer in API Gateway's (or
the AWS API's) shape — unparseable HTTP gets uvicorn's 400 and a clean close — no garbage starts a
workflow, and the server answers health afterwards.

Sent over raw sockets (no client library tidies anything up), each with ``Connection: close`` so the
answer is whatever arrives before the server closes. What AWS answers, and what is checked:

- body that is not JSON for a JSON template (invalid UTF-8, truncated, nesting past Jackson's 1000
  levels, no Content-Type): 400, ``x-amzn-ErrorType: BadRequestException``, ``{"message": "Could not
  parse request body into json: <Jackson's words>"}``;
- a Content-Type the method has no template for (the seed's passthroughBehavior NEVER): 415
  ``UnsupportedMediaTypeException``;
- a body over 10 MB: 413 ``HTTP content length exceeded 10485760 bytes.`` (plain text);
- Step Functions / CloudWatch Logs JSON bodies that are not a JSON object: 400 ``SerializationException``;
  no ``X-Amz-Target``: ``UnknownOperationException``; Lambda Invoke with a non-JSON payload: 400
  ``InvalidRequestContentException``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import LiveServer

MAX = 10 * 1024 * 1024


Answer = tuple[int | None, dict[str, str], bytes]


def exchange(server: LiveServer, data: bytes, *, timeout: float = 60) -> Answer:
    """Send raw bytes (a sender thread, so a server answering early cannot block us), read until the
    server closes; returns (status or None if it closed without answering, headers, body)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)

    def send() -> None:
        with contextlib.suppress(OSError):  # the server answered and closed before reading it all (413)
            sock.sendall(data)

    sender = threading.Thread(target=send)
    sender.start()
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    finally:
        sender.join()
        sock.close()
    if not received:
        return None, {}, b""
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def post(path: str, body: bytes, content_type: str | None = "application/json", extra: str = "") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return (head + extra + "\r\n").encode() + body


def aws(target: str | None, body: bytes, path: str = "/") -> bytes:
    extra = f"X-Amz-Target: {target}\r\n" if target else ""
    return post(path, body, "application/x-amz-json-1.0", extra)


def gateway_error(answer: tuple[int | None, dict[str, str], bytes], status: int, error_type: str) -> str:
    code, headers, body = answer
    assert code == status, answer
    assert headers.get("x-amzn-errortype") == error_type, headers
    assert headers.get("content-type") == "application/json", headers
    message: str = json.loads(body)["message"]
    return message


BAD_JSON = {
    "invalid-utf8": (b'{"a": "\xff\xfe"}', "Invalid UTF-8"),
    "truncated": (b'{"order": 42, "note": ', "Unexpected end-of-input"),
    "deep-arrays": (b"[" * 100_000, "Document nesting depth (1001) exceeds the maximum allowed (1000"),
    "deep-objects": (b'{"a":' * 50_000, "Document nesting depth (1001) exceeds the maximum allowed (1000"),
    "bare-word": (b"hello", "Unrecognized token 'hello'"),
    "nul-bytes": (b"\0" * 64, "Unexpected character ('\0' (code 0))"),
}


@pytest.fixture(scope="module")
def seed_path(fault_server: LiveServer) -> str:
    return urlsplit(fault_server.api_url()).path


@pytest.mark.parametrize("case", sorted(BAD_JSON))
def test_a_body_that_is_not_json_gets_api_gateways_400(
    fault_server: LiveServer, seed_path: str, case: str
) -> None:
    body, words = BAD_JSON[case]
    message = gateway_error(exchange(fault_server, post(seed_path, body)), 400, "BadRequestException")
    assert message.startswith("Could not parse request body into json: "), message
    assert words in message, message


def test_no_content_type_is_read_as_json(fault_server: LiveServer, seed_path: str) -> None:
    answer = exchange(fault_server, post(seed_path, b"{oops", None))
    message = gateway_error(answer, 400, "BadRequestException")
    assert message.startswith("Could not parse request body into json: "), message


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data; boundary=x"])
def test_a_content_type_without_a_template_gets_415(
    fault_server: LiveServer, seed_path: str, content_type: str
) -> None:
    answer = exchange(fault_server, post(seed_path, b"order=42", content_type))
    assert gateway_error(answer, 415, "UnsupportedMediaTypeException") == "Unsupported Media Type"


def test_a_body_over_10_mb_gets_413(fault_server: LiveServer, seed_path: str) -> None:
    status, headers, body = exchange(fault_server, post(seed_path, b"[" + b"1," * (MAX // 2) + b"1]"))
    assert (status, body) == (413, b"HTTP content length exceeded 10485760 bytes."), (status, headers)
    chunked = (f"POST {seed_path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    piece = b"x" * 65536
    chunked += (b"10000\r\n" + piece + b"\r\n") * (MAX // 65536 + 2) + b"0\r\n\r\n"
    status, _, body = exchange(fault_server, chunked)
    assert (status, body) == (413, b"HTTP content length exceeded 10485760 bytes.")


UNPARSEABLE = {
    "word": b"GARBAGE\r\n\r\n",
    "http-9.9": b"GET / HTTP/9.9\r\n\r\n",
    "tls-hello": b"\x16\x03\x01\x02\x00\x01\x00",
    "negative-length": b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    "nul-in-path": b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    "control-header": b"POST / HTTP/1.1\r\nContent-Type: \x7f\x01\r\nContent-Length: 0\r\n\r\n",
}


@pytest.mark.parametrize("raw", list(UNPARSEABLE.values()), ids=list(UNPARSEABLE))
def test_unparseable_http_gets_400_or_a_clean_close(fault_server: LiveServer, raw: bytes) -> None:
    status, headers, body = exchange(fault_server, raw)
    assert status in (None, 400), (status, headers, body)
    if status == 400:
        assert headers.get("connection") == "close"


def test_random_bytes_never_hang_or_kill_the_server(fault_server: LiveServer) -> None:
    rng = random.Random(7)
    answered = 0
    for _ in range(40):
        noise = bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 2000)))
        status, _, _ = exchange(fault_server, noise)
        assert status in (None, 400)
        answered += status == 400
    assert answered > 0
    assert fault_server.request("GET", f"{fault_server.endpoint}/_asyncgate/health")[0] == 200


def test_a_100_kb_header_gets_an_answer(fault_server: LiveServer, seed_path: str) -> None:
    big = "X-Big: " + "a" * 100_000 + "\r\n"
    status, headers, body = exchange(fault_server, post(seed_path, b"{}", extra=big))
    assert status is not None and json.loads(body), (status, headers)


def test_slow_clients_do_not_hold_up_others(fault_server: LiveServer, seed_path: str) -> None:
    """32 connections trickle a request head a byte at a time (bounded: ~3 s); health answers meanwhile,
    and each slow client, once it finishes its request, gets its answer."""
    socks = [socket.create_connection(("127.0.0.1", fault_server.port), timeout=60) for _ in range(32)]
    head = post(seed_path, b'{"slow": true}')
    split = len(head) - 40
    for sock in socks:
        sock.sendall(head[:split])
    health: list[int] = []
    for i in range(40):
        for sock in socks:
            sock.sendall(head[split + i : split + i + 1])
        health.append(fault_server.request("GET", f"{fault_server.endpoint}/_asyncgate/health")[0])
        time.sleep(0.05)
    answers = []
    for sock in socks:
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        answers.append(data.split(b"\r\n", 1)[0])
    assert set(health) == {200}
    assert set(answers) == {b"HTTP/1.1 200 OK"}, answers


AWS_BAD = {
    "sfn-not-json": (aws("AWSStepFunctions.StartExecution", b"{bad"), 400, "SerializationException"),
    "sfn-array": (aws("AWSStepFunctions.StartExecution", b"[]"), 400, "SerializationException"),
    "sfn-invalid-utf8": (aws("AWSStepFunctions.ListStateMachines", b'"\xff"'), 400, "SerializationException"),
    "sfn-deep": (aws("AWSStepFunctions.StartExecution", b"[" * 100_000), 400, "SerializationException"),
    "logs-not-json": (aws("Logs_20140328.FilterLogEvents", b"{{{"), 400, "SerializationException"),
    "no-target": (aws(None, b"{}"), 400, "UnknownOperationException"),
    "unknown-target": (aws("AWSStepFunctions.DropTables", b"{}"), 400, "UnknownOperationException"),
}


@pytest.mark.parametrize("case", sorted(AWS_BAD))
def test_aws_api_garbage_gets_aws_error_shape(fault_server: LiveServer, case: str) -> None:
    raw, status, error = AWS_BAD[case]
    code, headers, body = exchange(fault_server, raw)
    assert code == status, (code, body)
    assert headers["content-type"].startswith("application/x-amz-json-1."), headers
    assert json.loads(body)["__type"].rsplit("#", 1)[-1] == error, body


def test_lambda_invoke_garbage_gets_invalid_request_content(fault_server: LiveServer) -> None:
    raw = post("/2015-03-31/functions/sample-func/invocations", b"{{{", None)
    code, headers, body = exchange(fault_server, raw)
    assert (code, headers.get("x-amzn-errortype")) == (400, "InvalidRequestContentException"), body
    assert json.loads(body)["Type"] == "User"


def test_no_garbage_starts_a_workflow(fault_server: LiveServer, seed_path: str) -> None:
    """After a barrage of every non-JSON body above, one real webhook: the processor Lambda ran for it
    and for nothing that came before (its log holds only real events)."""
    before = len(_processor_events(fault_server))
    for body, _ in BAD_JSON.values():
        assert exchange(fault_server, post(seed_path, body))[0] == 400
    for content_type in ("text/plain", "application/xml"):
        assert exchange(fault_server, post(seed_path, b"x=1", content_type))[0] == 415
    marker = f"real-{os.getpid()}-{time.time_ns()}"
    status, _, body = exchange(fault_server, post(seed_path, json.dumps({"marker": marker}).encode()))
    assert (status, json.loads(body)) == (200, {"status": "webhook submitted"})
    deadline = time.monotonic() + 60
    while not any(marker in e for e in _processor_events(fault_server)) and time.monotonic() < deadline:
        time.sleep(0.2)
    events = _processor_events(fault_server)
    garbage = [e for e in events if "Printing out the event" in e and "marker" not in e and "{}" not in e
               and "slow" not in e]
    assert any(marker in e for e in events)
    assert garbage == [], garbage
    assert len(events) >= before + 1
    assert fault_server.request("GET", f"{fault_server.endpoint}/_asyncgate/health")[0] == 200


def _processor_events(server: LiveServer) -> list[str]:
    logs = server.client("logs")
    request: dict[str, Any] = {"logGroupName": "/aws/lambda/sample-func",
                               "filterPattern": '"Printing out the event"'}
    found: list[str] = []
    try:
        while True:
            page = logs.filter_log_events(**request)
            found += [e["message"] for e in page["events"]]
            if not page.get("nextToken"):
                return found
            request["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return found

