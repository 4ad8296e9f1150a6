"""The platform's own words: START/END/REPORT lines, log stream names, and the errors the platform
(not the handler) produces — timeouts, dead workers, oversized responses.

Strings are AWS's, as seen in CloudWatch and Invoke responses:

- ``START RequestId: <id> Version: $LATEST``, ``END RequestId: <id>``, and
  ``REPORT RequestId: <id>\\tDuration: 12.34 ms\\tBilled Duration: 13 ms\\tMemory Size: 128 MB\\tMax Memory
  Used: 40 MB\\t`` (plus ``Init Duration: 11.10 ms\\t`` on a cold start, and ``Status: timeout`` or
  ``Status: error\\tError Type: Runtime.ExitError`` when the platform ended the invocation). Billing is per
  millisecond, rounded up, since December 2020.
- a timeout answers ``{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: <id> Error: Task timed
  out after 3.00 seconds"}`` and logs ``<ISO date> <id> Task timed out after 3.00 seconds``;
- a runtime that exits answers ``{"errorType":"Runtime.ExitError","errorMessage":"RequestId: <id> Error:
  Runtime exited with error: exit status 1"}`` (``signal: killed`` for a signal), logged after REPORT;
- a runtime killed for using more than its MemorySize answers ``{"errorType":"Runtime.OutOfMemory",
  "errorMessage":"RequestId: <id> Error: Runtime exited with error: signal: killed"}``; its REPORT says
  ``Status: error\tError Type: Runtime.OutOfMemory`` (older runtimes said Runtime.ExitError);
- a response over 6 MB answers ``{"errorMessage":"Response payload size (N bytes) exceeded maximum
  allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}``.
"""

from __future__ import annotations

import json
import math
import secrets
import signal
import time
from datetime import UTC, datetime

__all__ = [
    "MAX_RESPONSE_BYTES",
    "end_line",
    "exit_error",
    "exit_line",
    "exit_reason",
    "report_line",
    "response_too_large",
    "start_error",
    "start_line",
    "stream_name",
    "timeout_error",
    "timeout_line",
]

#: Lambda's synchronous response limit as its error message states it.
MAX_RESPONSE_BYTES = 6_291_556

_SIGNAL_WORDS = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGINT: "interrupt",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
}


def _compact(doc: dict[str, str]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def stream_name(now: float | None = None) -> str:
    """A log stream name as Lambda makes one per execution environment.

    Example:
        >>> import re
        >>> bool(re.fullmatch(r"\\d{4}/\\d{2}/\\d{2}/\\[\\$LATEST\\][0-9a-f]{32}", stream_name()))
        True
    """
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[$LATEST]{secrets.token_hex(16)}"


def start_line(request_id: str) -> str:
    """Example:
    >>> start_line("r1")
    'START RequestId: r1 Version: $LATEST'
    """
    return f"START RequestId: {request_id} Version: $LATEST"


def end_line(request_id: str) -> str:
    """Example:
    >>> end_line("r1")
    'END RequestId: r1'
    """
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    *,
    duration_ms: float,
    memory_mb: int,
    max_memory_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    """The REPORT line (tab-separated, with AWS's trailing tab).

    Example:
        >>> line = report_line("r1", duration_ms=1.2, memory_mb=128, max_memory_mb=20, init_ms=15.0)
        >>> for part in line.split("\\t"): print(repr(part))
        'REPORT RequestId: r1'
        'Duration: 1.20 ms'
        'Billed Duration: 2 ms'
        'Memory Size: 128 MB'
        'Max Memory Used: 20 MB'
        'Init Duration: 15.00 ms'
        ''
    """
    billed = max(1, math.ceil(duration_ms))
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status is not None:
        parts.append(f"Status: {status}")
    if error_type is not None:
        parts.append(f"Error Type: {error_type}")
    return "\t".join(parts) + "\t"


def _seconds(timeout_s: float) -> str:
    return f"{timeout_s:.2f}"


def timeout_error(request_id: str, timeout_s: float) -> bytes:
    """The Invoke payload of a timed-out invocation.

    Example:
        >>> timeout_error("r1", 3)[:60]
        b'{"errorType":"Sandbox.Timedout","errorMessage":"RequestId: r'
        >>> json.loads(timeout_error("r1", 3))["errorMessage"]
        'RequestId: r1 Error: Task timed out after 3.00 seconds'
    """
    message = f"RequestId: {request_id} Error: Task timed out after {_seconds(timeout_s)} seconds"
    return _compact({"errorType": "Sandbox.Timedout", "errorMessage": message})


def timeout_line(request_id: str, timeout_s: float, now: float | None = None) -> str:
    """The log line a timeout leaves: ``2024-01-01T00:00:03.000Z r1 Task timed out after 3.00 seconds``."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return f"{iso} {request_id} Task timed out after {_seconds(timeout_s)} seconds"


def exit_reason(returncode: int | None) -> str:
    """Go's wording for a process end, as Lambda's init process reports it.

    Example:
        >>> exit_reason(1), exit_reason(-9)
        ('exit status 1', 'signal: killed')
    """
    if returncode is None:
        return "exit status 1"
    if returncode >= 0:
        return f"exit status {returncode}"
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal: {-returncode}"
    return "signal: " + _SIGNAL_WORDS.get(sig, sig.name.lower().removeprefix("sig"))


def exit_error(request_id: str, returncode: int | None, error_type: str = "Runtime.ExitError") -> bytes:
    """The Invoke payload when the worker process ended during an invocation (``error_type``
    ``Runtime.OutOfMemory`` when the memory limit ended it).

    Example:
        >>> json.loads(exit_error("r1", 3))["errorMessage"]
        'RequestId: r1 Error: Runtime exited with error: exit status 3'
        >>> exit_error("r1", -9, "Runtime.OutOfMemory")[:36]
        b'{"errorType":"Runtime.OutOfMemory","'
    """
    message = f"RequestId: {request_id} Error: Runtime exited with error: {exit_reason(returncode)}"
    return _compact({"errorType": error_type, "errorMessage": message})


def exit_line(request_id: str, returncode: int | None, error_type: str = "Runtime.ExitError") -> str:
    """The log event after REPORT when the runtime exited."""
    reason = exit_reason(returncode)
    return f"RequestId: {request_id} Error: Runtime exited with error: {reason}\n{error_type}"


def start_error(request_id: str, error: Exception) -> bytes:
    """The Invoke payload when a worker process cannot even start (Lambda: an invalid entrypoint).

    Example:
        >>> json.loads(start_error("r1", FileNotFoundError(2, "No such file or directory")))["errorType"]
        'Runtime.InvalidEntrypoint'
    """
    reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
    message = f"RequestId: {request_id} Error: fork/exec worker: {reason.lower()}"
    return _compact({"errorType": "Runtime.InvalidEntrypoint", "errorMessage": message})


def response_too_large(size: int) -> bytes:
    """The Invoke payload for a response over the 6 MB limit.

    Example:
        >>> response_too_large(7_000_000)[:60]
        b'{"errorMessage":"Response payload size (7000000 bytes) excee'
    """
    message = (
        f"Response payload size ({size} bytes) exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes)."
    )
    return _compact({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"})
