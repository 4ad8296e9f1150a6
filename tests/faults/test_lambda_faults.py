"""A Lambda handler that crashes, hangs, answers too much, floods stdout or eats memory gets AWS's error,
its worker is replaced, and the server keeps serving (an invoke after each fault works).

All through a live ``asyncgate up`` and boto3's Lambda client, on functions made with CreateFunction.
AWS's words, as its Invoke API answers them (``FunctionError: Unhandled``, the error document as the
payload, the REPORT line in ``LogResult``):

- a process exit: ``Runtime.ExitError`` "Runtime exited with error: exit status N" / "signal: killed";
- the timeout: ``Sandbox.Timedout`` "Task timed out after N.00 seconds";
- a result over 6 MB: ``Function.ResponseSizeTooLarge``;
- more memory than MemorySize: the sandbox is killed: ``Runtime.OutOfMemory`` "Runtime exited with
  error: signal: killed", REPORT ``Status: error  Error Type: Runtime.OutOfMemory``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.faults.conftest import create_function

HANDLER = """
import os, sys, time

def handler(event, context):
    fault = event.get("fault")
    if fault == "exit":
        os._exit(3)
    if fault == "kill":
        os.kill(os.getpid(), 9)
    if fault == "loop":
        while True:
            pass
    if fault == "big":
        return "x" * (7 * 1024 * 1024)
    if fault == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(8 * 1024 * 1024))  # bytearray(n) touches its pages
            time.sleep(0.005)  # ~1.6 GB/s at most: the limit is passed well before the timeout
    if fault == "flood":
        line = "y" * 65535 + "\\n"
        for _ in range(event["lines"]):
            sys.stdout.write(line)
        for i in range(event["short"]):
            print(i)
        return {"flooded": True}
    return {"ok": event.get("n"), "pid": os.getpid()}
"""


@pytest.fixture(scope="module")
def faulty(fault_server: LiveServer) -> str:
    create_function(fault_server, "faulty", HANDLER, Timeout=2, MemorySize=128)
    create_function(fault_server, "flooder", HANDLER, Timeout=120, MemorySize=256)
    return "faulty"


def invoke(server: LiveServer, name: str, event: dict[str, Any]) -> tuple[str | None, Any, str]:
    """(FunctionError, decoded payload, log tail) of a synchronous invoke."""
    answer = server.client("lambda", read_timeout=300).invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    tail = base64.b64decode(answer.get("LogResult", "")).decode("utf-8", "replace")
    return answer.get("FunctionError"), json.loads(answer["Payload"].read()), tail


def healthy(server: LiveServer) -> bool:
    status, _, body = server.request("GET", f"{server.endpoint}/_asyncgate/health")
    return status == 200 and json.loads(body) == {"status": "ok"}


def works_after(server: LiveServer, name: str, pid_before: int | None = None) -> int:
    """An invoke after the fault answers; returns the (new) worker's pid."""
    error, payload, _ = invoke(server, name, {"n": 7})
    assert error is None, payload
    assert payload["ok"] == 7
    if pid_before is not None:
        assert payload["pid"] != pid_before, "the faulted worker was not replaced"
    assert healthy(server)
    return int(payload["pid"])


@pytest.mark.parametrize(
    ("fault", "error_type", "message_end"),
    [
        ("exit", "Runtime.ExitError", "Error: Runtime exited with error: exit status 3"),
        ("kill", "Runtime.ExitError", "Error: Runtime exited with error: signal: killed"),
        ("loop", "Sandbox.Timedout", "Error: Task timed out after 2.00 seconds"),
        ("memory", "Runtime.OutOfMemory", "Error: Runtime exited with error: signal: killed"),
    ],
)
def test_a_dying_handler_answers_aws_error_and_its_worker_is_replaced(
    fault_server: LiveServer, faulty: str, fault: str, error_type: str, message_end: str
) -> None:
    pid = works_after(fault_server, faulty)
    error, payload, tail = invoke(fault_server, faulty, {"fault": fault})
    assert error == "Unhandled"
    assert payload["errorType"] == error_type
    assert payload["errorMessage"].startswith("RequestId: ")
    assert payload["errorMessage"].endswith(message_end)
    report = next(line for line in tail.splitlines() if line.startswith("REPORT RequestId: "))
    if fault == "loop":
        assert "\tStatus: timeout\t" in report
    else:
        assert f"\tStatus: error\tError Type: {error_type}\t" in report
    if fault == "memory":
        used = int(report.split("Max Memory Used: ")[1].split(" MB")[0])
        assert used > 128, report  # the watch saw it pass the limit, and it went no further than that
    works_after(fault_server, faulty, pid)


def test_a_response_over_6_mb_is_refused_and_the_worker_stays_warm(
    fault_server: LiveServer, faulty: str
) -> None:
    pid = works_after(fault_server, faulty)
    error, payload, _ = invoke(fault_server, faulty, {"fault": "big"})
    assert error == "Unhandled"
    assert payload == {
        "errorMessage": "Response payload size (7340034 bytes) exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
    assert works_after(fault_server, faulty) == pid  # the runtime answered; nothing had to die


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _messages(server: LiveServer, pattern: str, since_ms: int) -> list[str]:
    found: list[str] = []
    request: dict[str, Any] = {"logGroupName": "/aws/lambda/flooder", "filterPattern": pattern,
                               "startTime": since_ms}
    while True:
        page = server.client("logs").filter_log_events(**request)
        found += [e["message"].strip() for e in page["events"]]
        if not page.get("nextToken"):
            return found
        request["nextToken"] = page["nextToken"]


def flood(server: LiveServer, lines: int, short: int) -> tuple[float, float, int]:
    """Invoke ``flooder`` writing ``lines`` 64 KB lines then ``short`` short ones, while a thread asks
    for health; checks the answer, the log tail and the last line in CloudWatch Logs. Returns (server
    RSS before, after, health answers meanwhile)."""
    works_after(server, "flooder")
    before = _rss_mb(server.process.pid)
    answers: list[bool] = []
    done = threading.Event()

    def probe() -> None:
        while not done.wait(0.02):
            answers.append(healthy(server))

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        error, payload, tail = invoke(server, "flooder", {"fault": "flood", "lines": lines, "short": short})
    finally:
        done.set()
        prober.join()
    ended_ms = int(time.time() * 1000)
    after = _rss_mb(server.process.pid)
    assert error is None, payload
    assert payload == {"flooded": True}
    assert answers and all(answers)
    last = str(short - 1)
    assert last in tail  # the tail is the invocation's last 4 KB, as LogType=Tail gives
    deadline = time.monotonic() + 60  # log events are committed shortly after the invoke answers
    while last not in _messages(server, f'"{last}"', ended_ms - 10_000) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert last in _messages(server, f'"{last}"', ended_ms - 10_000)
    works_after(server, "flooder")
    return before, after, len(answers)


def test_a_stdout_flood_streams_to_logs_without_growing_the_server(
    fault_server: LiveServer, faulty: str
) -> None:
    """~100 MB of 64 KB lines and 50,000 short lines: the server answers health while it floods, its
    memory does not grow with the flood (it grew by more than the flood's size before streaming), and
    the lines reach CloudWatch Logs. ``tests/soak`` floods 400 MB."""
    before, after, answers = flood(fault_server, 1600, 50_000)
    print(f"flood: server RSS {before:.0f} MB -> {after:.0f} MB; {answers} health answers meanwhile")
    assert after - before < 60, f"server RSS grew {after - before:.0f} MB with a ~100 MB flood"
