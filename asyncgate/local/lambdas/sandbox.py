"""One Lambda execution environment, seen from the server: a ``worker.py`` process and its pipes.

Why hand-written: see ``pool.py``. A ``Worker`` starts the child bootstrap with exactly the environment
it is given, speaks the frame protocol of ``worker.py`` over the child's stdin/stdout, and turns the
child's log pipe (its stderr, where fd 1 and 2 point) into log events as lines arrive, so nothing is
lost when the process is killed mid-invocation. It enforces nothing: ``Pool`` applies the timeouts and
the memory limit (``rss_mb`` is what it watches).

A handler that floods stdout cannot grow the server: once ``_SPILL_BYTES`` (or ``_SPILL_EVENTS`` lines)
are buffered, the
reader hands them to ``spill`` (the pool's log sink) and awaits it before it reads the pipe again, so a
handler writing faster than the store commits blocks on its own ``write`` — the back-pressure of a
full pipe, as a process writing to a slow log agent gets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncgate.local.lambdas.worker import HEAD, MARK, pack

#: ``spill(events)``: log events handed over before the invocation ends; awaited (back-pressure).
Spill = Callable[[list[tuple[int, str]]], Awaitable[None]]

__all__ = ["Answer", "Worker", "WorkerDiedError", "mb", "now_ms"]

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
#: How long to wait for a worker's last log lines once it answered or died.
_DRAIN_S = 2.0
_CHUNK = 1 << 16
#: CloudWatch Logs caps an event at 256 KB; longer "lines" are cut there.
_MAX_LINE = 256 * 1024
#: Buffered log text (or events) past which the reader spills events to the log sink and waits for it.
_SPILL_BYTES = 4 << 20
_SPILL_EVENTS = 8192
#: Events kept from spilled batches for an invocation's 4 KB log tail (LogType: Tail).
_TAIL_EVENTS = 64
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def now_ms() -> int:
    """Epoch milliseconds, the timestamp of log events."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Answer:
    """A worker's answer to one invocation."""

    ok: bool
    payload: bytes
    mem_kb: int


class WorkerDiedError(Exception):
    """The worker process ended (or closed its pipes) before answering."""


class Worker:
    """One warm worker process: a Lambda execution environment."""

    def __init__(self, proc: asyncio.subprocess.Process, token: str, stream: str) -> None:
        self.proc = proc
        self.stream = stream
        self.events: list[tuple[int, str]] = []
        self.max_memory_mb = 0
        #: set by the pool when its memory watch ended the worker (Runtime.OutOfMemory)
        self.out_of_memory = False
        #: where buffered log events go once ``_SPILL_BYTES`` pile up (None: keep them all)
        self.spill: Spill | None = None
        #: the last events spilled since ``take_spilled_tail`` (for the invocation's log tail)
        self.spilled_tail: list[tuple[int, str]] = []
        self._buffered = 0
        self._mark = (MARK + token).encode()
        self._ended = asyncio.Event()
        self._eof = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read_logs())

    @classmethod
    async def spawn(cls, env: dict[str, str], cwd: Path, stream: str) -> Worker:
        """Start ``python -I -B worker.py`` with exactly ``env``; returns before the handler is imported.

        ``-I``: no PYTHON* variables, no user site, no script folder on ``sys.path``. ``-B``: no
        ``__pycache__`` written into the code folder (read-only ``/var/task`` in Lambda; and a
        ``__pycache__`` in a CDK asset source would change the asset's hash)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-B",
            "-u",
            str(WORKER_SCRIPT),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=str(cwd),
            start_new_session=True,
        )
        token = secrets.token_hex(8)
        worker = cls(proc, token, stream)
        assert proc.stdin is not None
        proc.stdin.write(pack({"token": token}))
        return worker

    # -- log pipe -----------------------------------------------------------------------------------
    async def _read_logs(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        pending = b""
        try:
            while True:
                chunk = await stream.read(_CHUNK)
                if not chunk:
                    break
                pending += chunk
                if b"\n" in chunk:
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        self._line(line)
                while len(pending) > _MAX_LINE:
                    self._line(pending[:_MAX_LINE])
                    pending = pending[_MAX_LINE:]
                full = self._buffered >= _SPILL_BYTES or len(self.events) >= _SPILL_EVENTS
                if full and self.spill is not None:
                    spilled = self.take_events()
                    self.spilled_tail = (self.spilled_tail + spilled)[-_TAIL_EVENTS:]
                    await self.spill(spilled)
            if pending:
                self._line(pending)
        finally:
            self._eof.set()
            self._ended.set()

    def _line(self, line: bytes) -> None:
        self._buffered += len(line)
        at = line.find(self._mark)
        if at < 0:
            self.events.append((now_ms(), line.decode("utf-8", "replace")))
            return
        if at > 0:
            self.events.append((now_ms(), line[:at].decode("utf-8", "replace")))
        rest = line[at + len(self._mark) :]
        if rest[:1] == b"E":
            try:
                message = json.loads(rest[1:])
            except ValueError:
                message = rest[1:].decode("utf-8", "replace")
            self.events.append((now_ms(), str(message)))
        elif rest[:1] == b"Z":
            self._ended.set()

    def take_events(self) -> list[tuple[int, str]]:
        """The log events gathered since the last call."""
        events, self.events = self.events, []
        self._buffered = 0
        return events

    # -- protocol -----------------------------------------------------------------------------------
    async def _read_frame(self) -> tuple[dict[str, Any], bytes]:
        stream = self.proc.stdout
        assert stream is not None
        try:
            head_len, body_len = HEAD.unpack(await stream.readexactly(HEAD.size))
            data = await stream.readexactly(head_len + body_len)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise WorkerDiedError from exc
        return json.loads(data[:head_len]), data[head_len:]

    async def _wait_end(self) -> None:
        await self._ended.wait()
        self._ended.clear()

    async def init(self) -> tuple[dict[str, Any], bytes]:
        """Wait for the worker to import the handler: ``({"ready": True, "init_ms"}, b"")`` or the init
        error (``{"init_error": True}``, error document). Raises ``WorkerDiedError``."""
        header, body = await self._read_frame()
        await self._wait_end()
        if "mem_kb" in header:
            self.max_memory_mb = mb(header["mem_kb"])
        return header, body

    async def call(self, request_id: str, deadline_ms: int, arn: str, payload: bytes) -> Answer:
        """Run one invocation; raises ``WorkerDiedError``. The caller bounds it with the timeout."""
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(pack({"id": request_id, "deadline_ms": deadline_ms, "arn": arn}, payload))
            if stdin.transport.get_write_buffer_size() > _CHUNK:
                await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerDiedError from exc
        header, body = await self._read_frame()
        await self._wait_end()
        mem_kb = int(header.get("mem_kb", 0))
        self.max_memory_mb = mb(mem_kb)
        return Answer(bool(header.get("ok")), body, mem_kb)

    def send_kill(self) -> None:
        """SIGKILL the worker and its children now, without waiting (the memory watch's verdict)."""
        # Signals go straight to the pid/group: Popen.kill() would poll() first and so reap the child
        # behind asyncio's child watcher, which then reports exit status 255.
        if self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(self.proc.pid, signal.SIGKILL)

    async def kill(self) -> int | None:
        """End the worker and its children; returns its exit code once its log pipe is drained."""
        self.send_kill()
        return await self.finished()

    def rss_mb(self) -> float:
        """The worker process's resident memory now, in MB (0 once it is gone); also raises
        ``max_memory_mb``, so a REPORT after a kill shows the peak the watch saw."""
        try:
            with open(f"/proc/{self.proc.pid}/statm", "rb") as statm:
                resident = int(statm.read().split()[1])
        except (OSError, ValueError, IndexError):
            return 0.0
        used = resident * _PAGE / (1024 * 1024)
        self.max_memory_mb = max(self.max_memory_mb, mb(int(used * 1024)))
        return used

    async def finished(self) -> int | None:
        """Wait for the process to end and its log pipe to drain; returns the exit code."""
        code = await self.proc.wait()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                await self._eof.wait()
        if not self._reader.done():
            self._reader.cancel()
        return code

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None and not self._eof.is_set()


def mb(kb: int) -> int:
    """Kilobytes (ru_maxrss) to whole megabytes, rounded up."""
    return max(1, -(-int(kb) // 1024))
