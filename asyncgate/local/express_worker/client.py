"""The server's side of the Express worker process: start it, hand it executions, take back their ends.

``ExpressWorker.submit(execution)`` is called by ``StatesService`` right after an Express async start
was committed; it answers False (the server runs the execution itself, as before) unless the
execution's revision is eligible (``eligible.py``), every function it calls is still the one the
worker was given, and the worker is up. A ``("done", ...)`` message deletes the pending-start row
and counts the execution in ``METRICS`` (the rows of one frame's executions go in one delete); the
worker writes its log events into the logs database itself.

If the worker dies, the server starts another and hands it the executions that had not reported back
(at-least-once, as after a crash of the server). On shutdown the worker is told to stop and its last
messages are read before the store closes; what it had not finished keeps its pending row.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

from ..lambdas import FunctionConfig, LambdaService
from ..metrics import METRICS
from ..states.executions import Execution
from ..store import Store
from .eligible import lambda_functions
from .wire import Message, Outbox, read_frame

__all__ = ["ExpressWorker"]

log = logging.getLogger("asyncgate.express_worker")

#: A worker that does not exit this long after ``stop`` is killed.
STOP_TIMEOUT_S = 10.0
#: A worker that dies more often than this is not started again: the server runs everything itself.
MAX_RESTARTS = 5


class ExpressWorker:
    """One worker process running eligible Express executions for the server."""

    def __init__(self, lambdas: LambdaService, store: Store, *, data_dir: Path, region: str,
                 account: str, endpoint_url: str | None) -> None:
        """A worker process for ``lambdas``' functions; ``store`` gets the pending rows' deletes."""
        self._lambdas = lambdas
        self._store = store
        self._config = {"data_dir": str(data_dir), "region": region, "account": account,
                        "endpoint_url": endpoint_url}
        #: revision id -> the functions it calls (None: not eligible)
        self._eligible: dict[str, frozenset[str] | None] = {}
        #: the function configs the worker has, as given
        self._given: dict[str, FunctionConfig] = {}
        self._sent_revisions: set[str] = set()
        #: executions handed over and not reported done, to hand again if the worker dies
        self._inflight: dict[str, Execution] = {}
        self._process: asyncio.subprocess.Process | None = None
        self._outbox: Outbox | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._closing = False
        self._restarts = 0
        #: runs an execution in the server instead (set by the Step Functions service)
        self.fallback: Callable[[Execution], None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the worker process and give it the server's functions."""
        ours, theirs = socket.socketpair()
        try:
            # A session of its own: Ctrl-C in a terminal, or a TERM to the server's process group
            # (``timeout``, a service manager), reaches the server only, which then says "stop"; the
            # worker, signalled too, would have died mid-step and been replaced during the shutdown.
            # It still ends with the server: its end of the socket closes.
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "asyncgate.local.express_worker.child",
                str(theirs.fileno()), json.dumps(self._config),
                pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL, start_new_session=True,
            )
        finally:
            theirs.close()
        reader, writer = await asyncio.open_connection(sock=ours)
        self._outbox = Outbox(writer)
        self._sent_revisions.clear()
        self._given = {config.name: config for config in self._lambdas.functions()}
        self._outbox.send(("functions", list(self._given.values())))
        self._reader_task = asyncio.get_running_loop().create_task(self._read(reader, self._process))

    async def close(self) -> None:
        """Stop the worker: it ends what runs (their pending rows stay) and sends its last messages."""
        self._closing = True
        process, outbox = self._process, self._outbox
        if process is None or outbox is None:
            return
        outbox.send(("stop",))
        await outbox.drain()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if self._reader_task is not None:
            await self._reader_task

    # -- hand-over ----------------------------------------------------------------------------------
    def submit(self, execution: Execution) -> bool:
        """Hand a committed Express start to the worker; False if the server must run it itself."""
        outbox = self._outbox
        if outbox is None or self._closing or not self._accepts(execution):
            return False
        revision = execution.revision
        if revision.revision_id not in self._sent_revisions:
            outbox.send(("revision", execution.machine, revision))
            self._sent_revisions.add(revision.revision_id)
        outbox.send(("start", execution.arn, execution.name, revision.revision_id, execution.input,
                     execution.start_date))
        self._inflight[execution.arn] = execution
        return True

    def _accepts(self, execution: Execution) -> bool:
        revision_id = execution.revision.revision_id
        if revision_id not in self._eligible:
            self._eligible[revision_id] = lambda_functions(execution.revision.definition)
        functions = self._eligible[revision_id]
        if functions is None:
            return False
        for name in functions:  # a function changed through the Lambda API stays with the server
            try:
                if self._lambdas.get(name) is not self._given.get(name):
                    return False
            except Exception:
                return False
        return True

    # -- messages from the worker ---------------------------------------------------------------------
    async def _read(self, reader: asyncio.StreamReader, process: asyncio.subprocess.Process) -> None:
        while (messages := await read_frame(reader)) is not None:
            self._handle(messages)
        if not self._closing:
            await self._restart(process)

    def _handle(self, messages: list[Message]) -> None:
        """One frame's messages: the executions it reports ended lose their pending rows in one op."""
        ended: list[str] = []
        for message in messages:
            if message[0] == "done":
                _, arn, status, seconds, lambda_calls = message
                self._inflight.pop(arn, None)
                ended.append(arn)
                METRICS.executions_completed.inc(status)
                METRICS.execution_duration.observe(seconds)
                METRICS.lambda_invocations.inc(lambda_calls)
        if ended:
            self._store.write_nowait(_delete_pending(ended))

    async def _restart(self, process: asyncio.subprocess.Process) -> None:
        """The worker died: start another (or, past ``MAX_RESTARTS``, none) and hand over again what
        had not reported back."""
        code = await process.wait()
        pending, self._inflight = list(self._inflight.values()), {}
        self._outbox = None
        self._restarts += 1
        if self._restarts <= MAX_RESTARTS:
            log.warning("the Express worker exited (%s); starting another for %d execution(s)",
                        code, len(pending))
            await self.start()
        else:
            log.error("the Express worker exited (%s) %d times; the server runs Express executions "
                      "itself from now on", code, self._restarts)
        for execution in pending:
            if not self.submit(execution) and self.fallback is not None:
                self.fallback(execution)


def _delete_pending(arns: list[str]) -> Callable[[sqlite3.Connection], None]:
    """The write op forgetting the pending-start rows of Express executions that ended: one statement
    for a frame's worth of them, rather than one op (and one statement) each."""
    rows = [(arn,) for arn in arns]

    def op(db: sqlite3.Connection) -> None:
        db.executemany("DELETE FROM sfn_pending_starts WHERE arn=?", rows)

    return op
