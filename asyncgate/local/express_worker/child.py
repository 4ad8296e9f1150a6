"""The Express worker process: runs, on a core of its own, the Express executions the server hands it.

Why a process: one webhook costs the server ~0.9 ms of CPU, and more than half of it is the
execution the ``200`` promised (the engine, the Lambda round trip, the vended log events), all on the
one event loop that also answers intake — and Python runs one thread of bytecode at a time. Here the
executions of eligible Express machines (``eligible.py``) run beside the server instead of inside it.

What it keeps from the server's promises: the start was committed (``sfn_pending_starts``) before the
server handed it over, and the server deletes that row only when this process reports the execution
done; a crash of either process leaves the row, and the next start re-runs it (at-least-once, as
before). The Step Functions tables have one writer, the server; this process writes only log events
(the Lambda's lines and the vended execution events), straight into the logs database
(``logs.sqlite3``, which the server writes too; SQLite serialises the two writers).

Messages in (``wire.py`` frames): ``("functions", [FunctionConfig])``, ``("revision", StateMachine,
Revision)``, ``("start", arn, name, revision_id, input, start_date)``, ``("stop",)``.
Messages out: ``("done", arn, status, seconds, lambda_calls)``.

Run as ``python -m asyncgate.local.express_worker.child FD CONFIG_JSON`` by ``client.py``, never by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import sys
from collections import deque
from pathlib import Path
from typing import Any

from ..lambdas import LambdaService
from ..logs import COMMIT_DELAY, LOGS_DB, Logs
from ..metrics import METRICS
from ..states.clock import SystemClock
from ..states.engine_port import EnginePort
from ..states.executions import Execution, ExecutionKind, ExecutionStatus, Outcome, terminal_event
from ..states.machines import Revision, StateMachine
from ..states.recorder import HistoryEvent, Recorder
from ..states.tasks import LambdaTasks
from ..states.vended_logs import VendedLogs
from ..store import Store
from .wire import Message, Outbox, read_frame

__all__ = ["ExpressRunner", "main"]

log = logging.getLogger("asyncgate.express_worker")

#: Executions at work at once; more wait as start messages. Under a backlog (intake outrunning the
#: worker) every start used to become a task at once: ~10,000 tasks waiting on four Lambda workers,
#: ~800,000 objects for the garbage collector to walk, which then took ~22% of the worker's CPU
#: (gc.callbacks under the seed's load; ~8% with this cap, ~11% with 2,048). An execution asleep in
#: a Wait state or a Retry's backoff does not count (``_Sleeps``): any number of them wait together,
#: as on AWS.
MAX_RUNNING = 512


class _Sleeps(SystemClock):
    """The wall clock, telling the runner while an execution sleeps, so that it admits another."""

    def __init__(self, runner: ExpressRunner) -> None:
        self._runner = runner

    async def sleep(self, seconds: float) -> None:
        runner = self._runner
        runner.asleep += 1
        runner.admit()
        try:
            await super().sleep(seconds)
        finally:
            runner.asleep -= 1


class _Definitions:
    """What ``EnginePort`` asks of a registry: a revision's definition, parsed once."""

    def __init__(self) -> None:
        self._compiled: dict[str, Any] = {}

    def compiled(self, revision: Revision) -> Any:
        definition = self._compiled.get(revision.revision_id)
        if definition is None:
            from ..states.parse import parse_definition

            definition = self._compiled[revision.revision_id] = parse_definition(revision.definition)
        return definition


class ExpressRunner:
    """Runs started Express executions and reports each one's end."""

    def __init__(self, outbox: Outbox, logs: Logs, *, data_dir: Path, endpoint_url: str | None,
                 region: str, account: str) -> None:
        self._outbox = outbox
        self._clock = _Sleeps(self)
        #: executions asleep (a Wait, a Retry's backoff): they do not count against MAX_RUNNING
        self.asleep = 0
        self._logs = logs
        self.lambdas = LambdaService(logs, data_dir=data_dir, endpoint_url=endpoint_url, region=region)
        self._vended = VendedLogs(logs.put)
        tasks = LambdaTasks(self.lambdas, region=region, account=account)
        self._port = EnginePort(_Definitions(), tasks, self._clock)
        self._revisions: dict[str, tuple[StateMachine, Revision]] = {}
        #: running executions and their recorders (muted at stop: nothing is vended while unwinding)
        self._running: dict[asyncio.Task[None], Recorder] = {}
        #: start messages beyond MAX_RUNNING, started as running ones end (dropped at stop: the server
        #: keeps their pending rows and runs them again at its next start)
        self._queued: deque[Message] = deque()
        self._lambda_reported = 0
        #: "done" messages waiting for their executions' log lines to be committed (``_report``)
        self._done: list[Message] = []
        self._reporter: asyncio.Task[None] | None = None

    def handle(self, message: Message) -> bool:
        """Act on one message from the server; False when it says stop."""
        kind = message[0]
        if kind == "start":
            self._queued.append(message)
            self.admit()
        elif kind == "revision":
            _, machine, revision = message
            self._revisions[revision.revision_id] = (machine, revision)
        elif kind == "functions":
            for config in message[1]:
                self.lambdas.register(config)
        elif kind == "stop":
            return False
        return True

    def _start(self, message: Message) -> None:
        _, arn, name, revision_id, text, start_date = message
        machine, revision = self._revisions[revision_id]
        session = self._vended.session(revision.logging, machine.name, arn)
        recorder = Recorder(self._clock.time, [session.add] if session is not None else [], last_id=1)
        execution = Execution(arn, name, machine, revision, ExecutionKind.EXPRESS, text, start_date)
        if session is not None:
            session.add(HistoryEvent(1, 0, start_date, *execution.started_event()))
        task = asyncio.get_running_loop().create_task(self._run(execution, recorder))
        self._running[task] = recorder
        task.add_done_callback(self._forget)

    def admit(self) -> None:
        """Start queued executions while fewer than MAX_RUNNING are at work (running, not asleep)."""
        queued = self._queued
        while queued and len(self._running) - self.asleep < MAX_RUNNING:
            self._start(queued.popleft())

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not task.cancelled():  # cancelled: the runner is closing, and starts nothing more
            self.admit()

    async def _run(self, execution: Execution, recorder: Recorder) -> None:
        try:
            outcome = await self._port.run(execution, json.loads(execution.input), recorder)
        except Exception as exc:  # an engine bug must not lose the execution silently
            log.exception("execution %s: engine failure", execution.arn)
            outcome = Outcome(ExecutionStatus.FAILED, error="States.Runtime", cause=f"Internal error: {exc}")
        last = recorder.append(*terminal_event(outcome))
        calls = METRICS.lambda_invocations.value - self._lambda_reported
        self._lambda_reported += calls
        seconds = last.timestamp - execution.start_date
        self._done.append(("done", execution.arn, outcome.status.value, seconds, calls))
        if self._reporter is None:
            self._reporter = asyncio.get_running_loop().create_task(self._report())

    async def _report(self) -> None:
        """Say "done" for every execution that ended, once its log lines are committed.

        A crash after "done" must not lose the lines of an execution the server will not re-run, so
        the lines go first. The executions that end while one commit is awaited share the next one:
        one barrier per commit, not one per execution.
        """
        try:
            while self._done:
                done, self._done = self._done, []
                self._vended.flush()
                await self._logs.barrier()
                for message in done:
                    self._outbox.send(message)
        finally:
            self._reporter = None

    def flush_logs(self) -> None:
        """Hand buffered vended events to the logs now."""
        self._vended.flush()

    async def close(self) -> None:
        """Cut running executions off (the server re-runs them at its next start), end the workers."""
        self._queued.clear()
        for task, recorder in list(self._running.items()):
            recorder.mute()
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        if self._reporter is not None:  # what ended before the stop is still reported
            await self._reporter
        self._vended.flush()
        await self.lambdas.close()


async def serve(sock: socket.socket, config: dict[str, Any]) -> None:
    """Read the server's frames until it says stop or goes away."""
    reader, writer = await asyncio.open_connection(sock=sock)
    outbox = Outbox(writer)
    data_dir = Path(config["data_dir"])
    store = Store(data_dir / LOGS_DB, commit_delay=COMMIT_DELAY)
    runner = ExpressRunner(outbox, Logs(store), data_dir=data_dir, endpoint_url=config.get("endpoint_url"),
                           region=config["region"], account=config["account"])
    gc.collect()
    gc.freeze()  # as the server does once ready: full collections then skip what start-up built
    try:
        while True:
            messages = await read_frame(reader)
            if messages is None:  # the server is gone (kill -9): its next start re-runs what we had
                runner.flush_logs()
                store.close()  # what is queued is committed first
                os._exit(0)
            if not all(runner.handle(m) for m in messages):
                break
    finally:
        await runner.close()
        await store.barrier()  # the log lines of what finished are durable before we say goodbye
        store.close()
        await outbox.drain()
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, format="asyncgate express worker: %(message)s")
    sock = socket.socket(fileno=int(args[0]))
    config = json.loads(args[1])
    try:
        import uvloop

        uvloop.run(serve(sock, config))
    except ImportError:
        asyncio.run(serve(sock, config))


if __name__ == "__main__":
    main()
