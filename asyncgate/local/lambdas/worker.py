"""The child side of a warm Lambda worker: a tiny bootstrap that imports the handler and serves invokes.

Why a plain subprocess running this file, not ``multiprocessing``: a ``spawn``-ed multiprocessing child
re-imports the parent's ``__main__`` and unpickles through the parent's modules, so a worker would load
the server (starlette, the engine, ...) before the handler; ``fork`` would copy the server's threads,
SQLite connections and event loop. ``python -I worker.py`` starts in ~30 ms, imports only the stdlib,
gets exactly the environment we hand it, and ``sys.path`` is ``[code_dir, <stdlib and site-packages>]``
as in Lambda (``/var/task`` first; boto3 stays importable as Lambda's runtime provides it).

The server imports this module too (``sandbox.py``: the frame format and the marker), so it must keep
importing nothing beyond the stdlib, and run nothing at import time.

Wire, over the child's stdin/stdout (the *protocol* pipes, kept on private dups: right at start fd 0 is
re-pointed at /dev/null and fd 1 at the log pipe, so a handler's ``print``, ``input()`` and C-level writes
never touch the protocol):

    frame  := HEAD(">II": header_len, body_len) + header (UTF-8 JSON) + body (raw bytes)
    parent -> child: {"token": str}                         once, first
    child -> parent: {"ready": true, "init_ms": float}      or {"init_error": true} + error document
    parent -> child: {"id", "deadline_ms", "arn"} + event   per invoke
    child -> parent: {"ok": bool, "mem_kb": int} + result   (bytes result, JSON, or the error document)

Log pipe (the child's stderr; fd 1 and fd 2 both point at it): raw handler output, line by line. Lines
holding ``"\\0" + token`` are ours: ``...E<json string>`` is one log event (multi-line allowed, as the
runtime's framed telemetry sink keeps a logging record or an error report together), ``...Z`` ends the
invocation's output (written before the result frame, so the parent knows it has every line).

Error documents follow the Python runtime interface client (awslambdaric ``bootstrap.py``): ``{"errorMessage":
str(exc), "errorType": type name, "requestId", "stackTrace": traceback.format_list(frames)}`` with the
leading bootstrap frames dropped, serialized with ``json.dumps`` defaults (``", "`` and ``": "``). The code
folder's real path is shown as ``/var/task``.
"""

from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import resource
import signal
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

HEAD = struct.Struct(">II")
MARK = "\0"
TASK_ROOT = "/var/task"
_BOOTSTRAP = os.path.abspath(__file__)


# -- framing (shared with the parent) -----------------------------------------------------------------
def pack(header: dict[str, Any], body: bytes = b"") -> bytes:
    """Encode one protocol frame.

    Example:
        >>> unpack_header(pack({"a": 1}, b"xy")[:HEAD.size])
        (7, 2)
    """
    head = json.dumps(header, separators=(",", ":")).encode()
    return HEAD.pack(len(head), len(body)) + head + body


def unpack_header(data: bytes) -> tuple[int, int]:
    """Split a frame's fixed head into (header length, body length)."""
    return HEAD.unpack(data)


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream: BinaryIO) -> tuple[dict[str, Any], bytes]:
    head_len, body_len = HEAD.unpack(_read_exact(stream, HEAD.size))
    header = json.loads(_read_exact(stream, head_len))
    return header, _read_exact(stream, body_len) if body_len else b""


# -- the context object -------------------------------------------------------------------------------
class CognitoIdentity:
    """``context.identity`` (always empty for direct invokes)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """The ``context`` argument, with the attributes of the Python runtime's ``LambdaContext``."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        env = os.environ
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = None
        self.identity = CognitoIdentity()
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout ends the invocation."""
        left = self._deadline_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def log(self, msg: object) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},client_context=None,identity=..."
            "])"
        )


# -- errors -------------------------------------------------------------------------------------------
class FaultError(Exception):
    """A runtime fault with a ``Runtime.*`` error type (import, handler lookup, marshalling)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.msg = message
        self.trace = trace or []


def make_error(message: str, error_type: str, trace: list[str], request_id: str) -> dict[str, Any]:
    """The error document, keys in the runtime's order."""
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": trace}


def _task_path(filename: str, code_dir: str) -> str:
    if filename == code_dir or filename.startswith(code_dir + os.sep):
        return TASK_ROOT + filename[len(code_dir) :]
    return filename


def stack_trace(tb: Any, code_dir: str) -> list[str]:
    """Format a traceback as the runtime does, minus our own frames, with ``/var/task`` paths."""
    frames = traceback.extract_tb(tb)
    tuples = [(f.filename, f.lineno, f.name, f.line) for f in frames]
    for i, item in enumerate(tuples):
        if item[0] != _BOOTSTRAP:
            tuples = tuples[i:]
            break
    else:
        tuples = []
    mapped = [(_task_path(fn, code_dir), ln, name, line) for fn, ln, name, line in tuples]
    return traceback.format_list(mapped)  # type: ignore[arg-type]


# -- logging ------------------------------------------------------------------------------------------
class _Events:
    """Writes framed log events and the end-of-invocation marker on the log pipe."""

    def __init__(self, fd: int, token: str) -> None:
        self.fd = fd
        self.prefix = MARK + token

    def event(self, message: str) -> None:
        line = self.prefix + "E" + json.dumps(message) + "\n"
        os.write(self.fd, line.encode("utf-8", "backslashreplace"))

    def end(self) -> None:
        os.write(self.fd, (self.prefix + "Z\n").encode())


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _EventHandler(logging.Handler):
    def __init__(self, events: _Events) -> None:
        super().__init__()
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.events.event(self.format(record).rstrip("\n"))
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def _setup_logging(events: _Events) -> _RequestIdFilter:
    logging.Formatter.converter = time.gmtime
    handler = _EventHandler(events)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    request_filter = _RequestIdFilter()
    handler.addFilter(request_filter)
    logging.getLogger().addHandler(handler)
    return request_filter


def log_error(events: _Events, error: dict[str, Any]) -> None:
    """Log an error report as the runtime's text format does: one event, NBSP-indented trace."""
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        for trace_line in element.splitlines():
            stripped = trace_line.lstrip(" ")
            lines.append("\u00a0" * (len(trace_line) - len(stripped)) + stripped)
    events.event("\n".join(lines))


# -- handler ------------------------------------------------------------------------------------------
def load_handler(handler: str) -> Any:
    """Import ``module.function`` the way the runtime does, raising its ``Runtime.*`` faults."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}") from None
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultError(
                "Runtime.BuiltInModuleConflict", f"Cannot use built-in module {modname} as a handler module"
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as exc:
        raise FaultError("Runtime.ImportModuleError", f"Unable to import module '{modname}': {exc}") from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        raise FaultError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{modname}': {exc}", trace
        ) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        message = f"Handler '{fname}' missing on module '{modname}'"
        raise FaultError("Runtime.HandlerNotFound", message) from None


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def _ensure_ascii() -> bool:
    # awslambdaric writes non-ASCII characters as is on python3.12 (and its successors).
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    try:
        minor = int(env.rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return True
    return not (env.startswith("AWS_Lambda_python3.") and minor >= 12)


def marshal(result: Any, encoder: json.JSONEncoder) -> bytes:
    """Turn a handler's return value into the response payload: bytes as is, anything else as JSON."""
    if isinstance(result, bytes):
        return result
    try:
        return encoder.encode(result).encode("utf-8")
    except Exception as exc:
        raise FaultError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _max_memory_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- main loop ----------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    # A handler stuck in a loop must not outlive a server that was killed -9 (Linux: PR_SET_PDEATHSIG).
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def main() -> None:
    started = time.perf_counter()
    _die_with_parent()
    proto_in = os.fdopen(os.dup(0), "rb", buffering=0)
    proto_out = os.dup(1)
    log_fd = 2
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log_fd, 1)
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = io.TextIOWrapper(
            io.FileIO(fd, "w", closefd=False),
            encoding="utf-8",
            errors="backslashreplace",
            line_buffering=True,
            write_through=True,
        )
        setattr(sys, name, stream)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))

    def send(header: dict[str, Any], body: bytes = b"") -> None:
        data = memoryview(pack(header, body))
        while data:
            data = data[os.write(proto_out, data) :]

    hello, _ = _read_frame(proto_in)
    events = _Events(log_fd, str(hello["token"]))
    request_filter = _setup_logging(events)
    code_dir = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, code_dir)
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except FaultError as fault:
        error = make_error(fault.msg, fault.error_type, fault.trace, "")
        _report_init_error(events, send, error)
        return
    except Exception:
        _etype, value, tb = sys.exc_info()
        error = make_error(str(value), type(value).__name__, stack_trace(tb, code_dir), "")
        _report_init_error(events, send, error)
        return
    encoder = _Encoder(ensure_ascii=_ensure_ascii())
    sys.stdout.flush()
    sys.stderr.flush()
    events.end()
    send({"ready": True, "init_ms": (time.perf_counter() - started) * 1000, "mem_kb": _max_memory_kb()})

    while True:
        try:
            header, body = _read_frame(proto_in)
        except EOFError:
            return
        request_id = str(header["id"])
        request_filter.request_id = request_id
        ok = True
        try:
            context = LambdaContext(request_id, int(header["deadline_ms"]), str(header["arn"]))
            try:
                event = json.loads(body) if body else {}
            except ValueError as exc:
                raise FaultError("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}") from None
            payload = marshal(handler(event, context), encoder)
        except FaultError as fault:
            ok = False
            error = make_error(fault.msg, fault.error_type, fault.trace, request_id)
        except Exception:
            ok = False
            _etype, value, tb = sys.exc_info()
            error = make_error(str(value), type(value).__name__, stack_trace(tb, code_dir), request_id)
            del tb
        if not ok:
            log_error(events, error)
            payload = json.dumps(error).encode("utf-8")
        sys.stdout.flush()
        sys.stderr.flush()
        events.end()
        send({"ok": ok, "mem_kb": _max_memory_kb()}, payload)


def _report_init_error(events: _Events, send: Any, error: dict[str, Any]) -> None:
    log_error(events, error)
    sys.stdout.flush()
    sys.stderr.flush()
    events.end()
    send({"init_error": True, "mem_kb": _max_memory_kb()}, json.dumps(error).encode("utf-8"))


if __name__ == "__main__":
    main()
