"""The Step Functions API: state machines and executions, as AWS answers them.

``StatesService`` takes and returns AWS's JSON shapes (camelCase, epoch-second floats) and raises the
errors of ``asyncgate.local.errors``; ``api/json_protocol.py`` and the gateway's AWS integrations
call its methods. The work is split by concern:

- ``machines.py``     state machines, revisions, compiled definitions (``sfn_machines``, ``sfn_revisions``)
- ``executions.py``   execution records and the store operations of the three start paths
- ``engine_port.py``  the engine, built once per revision
- ``vended_logs.py``  history events to CloudWatch Logs
- ``recovery.py``     what ``start()`` does with work a crash left behind
- ``queries.py``      DescribeExecution, ListExecutions, GetExecutionHistory over the store

Internals of StartExecution on an EXPRESS machine (the gateway's hot path):
    1. look the machine up in memory, validate name and input (one ``json.loads``);
    2. ``await store.write(insert pending row)`` — shares one fsync with every concurrent start;
    3. hand the execution to the Express worker process when one is attached and the machine only
       calls Lambda (``express_worker/``), else spawn it as a task here; answer
       ``{executionArn, startDate}``.

Example:
    >>> import asyncio, pathlib, tempfile
    >>> from asyncgate.local.store import Store
    >>> from asyncgate.local.logs import Logs
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()) / "db")
    >>> svc = StatesService(store, Logs(store), None)
    >>> asyncio.run(svc.list_state_machines({}))
    {'stateMachines': []}
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from ..errors import (
    AwsError,
    ExecutionAlreadyExists,
    InvalidDefinition,
    StateMachineTypeNotSupported,
)
from ..metrics import METRICS
from ..store import Store
from .callbacks import Callbacks
from .clock import Clock, SystemClock
from .engine_port import EnginePort
from .executions import (
    SCHEMA,
    Execution,
    ExecutionKind,
    ExecutionStatus,
    Outcome,
    Runner,
    delete_pending,
    finish_standard,
    insert_event,
    insert_pending,
    insert_standard,
    new_execution,
    start_args,
    terminal_event,
)
from .machines import MachineRegistry, StateMachine
from .queries import Queries
from .recorder import HistoryEvent, Recorder, Sink
from .recovery import catch_up_clock, recover
from .schema import upgrade
from .tags import Tags
from .task_tokens import TaskTokens
from .validation import (
    decode_token,
    definition_diagnostics,
    encode_token,
    page_size,
    require,
)
from .vended_logs import VendedLogs

__all__ = ["StatesService"]

log = logging.getLogger("asyncgate.states")

_NOT_SUPPORTED = "This operation is not supported by this type of state machine"


class StatesService:
    """Step Functions: ``StatesService(store, logs, lambdas, *, clock=SystemClock())``.

    ``lambdas`` is the LambdaService the engine's Lambda tasks call (or None); ``tasks`` overrides
    the engine's TaskInvoker and ``runner`` the engine itself (tests).
    """

    def __init__(self, store: Store, logs: Any, lambdas: Any, *, clock: Clock | None = None,
                 tasks: Any = None, runner: Runner | None = None, services: Any = None) -> None:
        self._store = store
        self._clock: Clock = clock or SystemClock()
        self._now = self._clock.time
        store.migrate(SCHEMA)
        upgrade(store)  # an older database's tables moved to this layout, before anything reads them
        self._machines = MachineRegistry(store, self._now)
        self._vended = VendedLogs(logs.put) if logs is not None else VendedLogs(lambda *a: None)
        self._lambdas = lambdas
        self._tasks = tasks
        self._services = services  # the other AWS services' task integrations (sdk_tasks.ServiceTasks)
        self._runner: Runner | None = runner
        self._port: EnginePort | None = None
        self._queries = Queries(store, self._machines)
        self._tags = Tags(store)
        self._running: dict[str, Execution] = {}
        self._closing = False
        #: outstanding ``.waitForTaskToken`` tokens of every engine
        self.tokens = TaskTokens()
        #: the Express worker process (``express_worker.client.ExpressWorker``), when attached
        self._worker: Any = None
        self._callbacks = Callbacks(self.tokens)

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Recover what a crash left: re-run pending Express starts, resume interrupted Standard ones
        (or fail them when the engine cannot resume; see ``recovery.py``)."""
        catch_up_clock(self._store, self._clock)
        port = self._engine_port()
        resume = self._resume if port is not None and port.can_resume else None
        await recover(self._store, self._machines, self._now, self._respawn, resume)

    async def close(self) -> None:
        """Cancel running executions without ending them (recovery owns them), flush vended logs."""
        self._closing = True
        for execution in list(self._running.values()):
            if execution.recorder is not None:
                execution.recorder.mute()
        tasks = [e.task for e in list(self._running.values()) if e.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._vended.flush()

    def attach_express_worker(self, worker: Any) -> None:
        """Run eligible Express async executions in ``worker``'s process; the rest stay here."""
        self._worker = worker
        worker.fallback = lambda execution: self._spawn(execution, json.loads(execution.input))

    def flush_logs(self) -> None:
        """Hand buffered vended-log events to the logs service now (tests, shutdown)."""
        self._vended.flush()

    # -- state machines -----------------------------------------------------------------------------
    async def create_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        machine = await self._machines.create(request)
        if request.get("tags"):
            await self._tags.tag(machine.arn, request["tags"])
        return {"stateMachineArn": machine.arn, "creationDate": machine.creation_date}

    async def deploy_state_machine(self, request: dict[str, Any]) -> str:
        """Create, or update to this configuration, a machine from the template (every start-up)."""
        return (await self._machines.deploy(request)).arn

    async def describe_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._machines.get(request.get("stateMachineArn")).describe()

    async def update_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        machine = await self._machines.update(request)
        return {"updateDate": machine.update_date, "revisionId": machine.revision.revision_id}

    async def delete_state_machine(self, request: dict[str, Any]) -> dict[str, Any]:
        await self._machines.delete(request.get("stateMachineArn"))
        return {}

    async def list_state_machines(self, request: dict[str, Any]) -> dict[str, Any]:
        size = page_size(request)
        offset = decode_token(request.get("nextToken"), "machines")
        machines = sorted(self._machines.machines.values(), key=lambda m: m.name)
        out: dict[str, Any] = {"stateMachines": [m.list_item() for m in machines[offset:offset + size]]}
        if offset + size < len(machines):
            out["nextToken"] = encode_token(offset + size, "machines")
        return out

    async def validate_state_machine_definition(self, request: dict[str, Any]) -> dict[str, Any]:
        from .machines import _parse_definition

        try:
            _parse_definition(require(request, "definition"))
        except InvalidDefinition as exc:
            return {"result": "FAIL", "diagnostics": definition_diagnostics(exc.message), "truncated": False}
        return {"result": "OK", "diagnostics": [], "truncated": False}

    # -- tags ---------------------------------------------------------------------------------------
    async def tag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._tagged(request)
        await self._tags.tag(arn, require(request, "tags"))
        return {}

    async def untag_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._tagged(request)
        await self._tags.untag(arn, require(request, "tagKeys"))
        return {}

    async def list_tags_for_resource(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"tags": self._tags.list(self._tagged(request))}

    def _tagged(self, request: dict[str, Any]) -> str:
        return self._tags.require(require(request, "resourceArn"), self._machines.machines)

    # -- executions ---------------------------------------------------------------------------------
    async def start_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = await self._start(request)
        return {"executionArn": execution.arn, "startDate": execution.start_date}

    async def _start(self, request: dict[str, Any]) -> Execution:
        """StartExecution: the execution started (durably), or the running one with that name and input.

        Once validated, the start is shielded from the caller's cancellation (a client gone, a parent
        stopped): a start that became durable must also run, or its row would read RUNNING forever.
        """
        arn = request.get("stateMachineArn")
        # a known machine's ARN is a valid one: the registry's parse-then-look-up is for the others
        machine = self._machines.machines.get(arn) if isinstance(arn, str) else None
        if machine is None:
            machine = self._machines.get(arn)
        name, text, value = start_args(request)
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[None] = loop.create_future()
        commit = loop.create_task(self._start_durably(machine, name, text, value, gate))
        answer = asyncio.shield(commit)
        # Added after the shield's own callback, so it runs after the caller is woken: the answer
        # leaves before the new execution's first step (a Pass machine runs to its end in that step).
        commit.add_done_callback(lambda _: _open(gate))
        return await answer

    async def _start_durably(self, machine: StateMachine, name: str, text: str, value: Any,
                             gate: asyncio.Future[None]) -> Execution:
        """The start's commit, then its run (once ``gate`` opens); ``_start`` shields this whole task
        from cancellation, so the writes are awaited directly (one task per start, not one more per
        write)."""
        now = self._now()
        if machine.express:
            execution = new_execution(machine, ExecutionKind.EXPRESS, name, text, now)
            await self._store.write(insert_pending(execution))
            self._run_express(execution, value, gate)
            return execution
        execution = new_execution(machine, ExecutionKind.STANDARD, name, text, now)
        started = HistoryEvent(1, 0, now, *execution.started_event())
        clash = await self._store.write(insert_standard(execution, started))
        if clash is not None:
            existing = self._running.get(execution.arn)
            if clash == "RUNNING:same" and existing is not None:
                return existing
            raise ExecutionAlreadyExists(f"Execution Already Exists: '{execution.arn}'")
        self._spawn(execution, value, started, gate=gate)
        return execution

    async def start_sync_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        machine = self._machines.get(request.get("stateMachineArn"))
        if not machine.express:
            raise StateMachineTypeNotSupported(_NOT_SUPPORTED)
        name, text, value = start_args(request)
        execution = new_execution(machine, ExecutionKind.SYNC, name, text, self._now())
        recorder, session = self._recorder(execution, last_id=1)
        if session is not None:
            session(HistoryEvent(1, 0, execution.start_date, *execution.started_event()))
        await self._execute(execution, value, recorder)
        include = request.get("includedData") != "METADATA_ONLY"
        out = execution.describe(include_data=include)
        assert execution.stop_date is not None
        billed_ms = max(100, math.ceil((execution.stop_date - execution.start_date) * 10) * 100)
        out["billingDetails"] = {"billedMemoryUsedInMB": 64, "billedDurationInMilliseconds": billed_ms}
        return out

    async def describe_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._find(request.get("executionArn"))
        return execution.describe(include_data=request.get("includedData") != "METADATA_ONLY")

    async def describe_state_machine_for_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._find(request.get("executionArn")).machine_description()

    async def stop_execution(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._find(request.get("executionArn"))
        task = execution.task
        if execution.status is ExecutionStatus.RUNNING and task is not None and not task.done():
            execution.stop_request = (request.get("error"), request.get("cause"))
            task.cancel()
            await asyncio.wait({task}, timeout=10)
        return {"stopDate": execution.stop_date if execution.stop_date is not None else self._now()}

    async def list_executions(self, request: dict[str, Any]) -> dict[str, Any]:
        machine = self._machines.get(request.get("stateMachineArn"))
        if machine.express:
            raise StateMachineTypeNotSupported(_NOT_SUPPORTED)
        return self._queries.list_executions(machine, request)

    async def get_execution_history(self, request: dict[str, Any]) -> dict[str, Any]:
        execution = self._find(request.get("executionArn"))
        if execution.status is ExecutionStatus.RUNNING:
            await self._store.barrier()  # events are queued in order; make them all visible
        return self._queries.history(execution.arn, request)

    async def test_state(self, request: dict[str, Any]) -> dict[str, Any]:
        """TestState: one state, once, with mocks; see ``test_state.py`` for what it covers."""
        from .test_state import run_test_state

        return await run_test_state(request, clock=self._clock, tasks=self._task_invoker)

    # -- callbacks (``.waitForTaskToken``; see callbacks.py and task_tokens.py) ---------------------
    async def send_task_success(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self._callbacks.send_task_success(request)

    async def send_task_failure(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self._callbacks.send_task_failure(request)

    async def send_task_heartbeat(self, request: dict[str, Any]) -> dict[str, Any]:
        return await self._callbacks.send_task_heartbeat(request)

    # -- internals ----------------------------------------------------------------------------------
    def _find(self, arn: Any) -> Execution:
        """A Standard execution, running or from the store; Express ARNs are not valid here."""
        execution = self._running.get(arn) if isinstance(arn, str) else None
        if execution is not None and execution.kind is ExecutionKind.STANDARD:
            return execution
        return self._queries.load(arn)

    def _recorder(self, execution: Execution, *, last_id: int = 0) -> tuple[Recorder, Sink | None]:
        sinks: list[Sink] = []
        if execution.kind is ExecutionKind.STANDARD:
            arn, store = execution.arn, self._store
            sinks.append(lambda event: store.write_nowait(insert_event(arn, event)))
        session = self._vended.session(execution.revision.logging, execution.machine.name, execution.arn)
        log_sink = session.add if session is not None else None
        if log_sink is not None:
            sinks.append(log_sink)
        return Recorder(self._now, sinks, last_id=last_id), log_sink

    def _spawn(self, execution: Execution, value: Any, started: HistoryEvent | None = None,
               history: list[HistoryEvent] | None = None, gate: asyncio.Future[None] | None = None) -> None:
        """Run an accepted execution in the background (its start is already durable).

        ``started`` is the ExecutionStarted event when the caller already persisted it (Standard);
        ``history`` the events recorded before an interruption, to resume after them; ``gate`` what
        the engine waits for before its first state (the start's answer being on its way). The
        execution is running (and stoppable) from here on either way.
        """
        if history:
            recorder, _ = self._recorder(execution, last_id=history[-1].id)
        else:
            if started is None:
                started = HistoryEvent(1, 0, execution.start_date, *execution.started_event())
            recorder, log_sink = self._recorder(execution, last_id=started.id)
            if log_sink is not None:
                log_sink(started)
        self._running[execution.arn] = execution
        execution.recorder = recorder
        execution.task = asyncio.get_running_loop().create_task(
            self._execute(execution, value, recorder, history, gate), name=f"sfn:{execution.name}"
        )
        execution.task.add_done_callback(lambda _t: self._running.pop(execution.arn, None))

    def _respawn(self, execution: Execution, value: Any) -> None:
        self._run_express(execution, value)

    def _run_express(self, execution: Execution, value: Any,
                     gate: asyncio.Future[None] | None = None) -> None:
        """An Express async start: to the worker process if it takes it, else run here."""
        if (execution.kind is ExecutionKind.EXPRESS and self._worker is not None
                and self._worker.submit(execution)):
            METRICS.executions_started.inc(execution.kind.value)
            return
        self._spawn(execution, value, gate=gate)

    def _resume(self, execution: Execution, value: Any, history: list[HistoryEvent]) -> None:
        port = self._engine_port()
        if port is not None:
            port.reissue_token(execution, value, history)
        self._spawn(execution, value, history=history)

    async def _execute(self, execution: Execution, value: Any, recorder: Recorder,
                       history: list[HistoryEvent] | None = None,
                       gate: asyncio.Future[None] | None = None) -> Outcome:
        """Run the engine and record the end; a shutdown leaves the execution to recovery."""
        METRICS.executions_started.inc(execution.kind.value)
        try:
            if gate is not None and not gate.done():
                await gate  # a stop meanwhile aborts it here, as it would in its first state
            outcome = await self._run(execution, value, recorder, history)
        except asyncio.CancelledError:
            if execution.stop_request is None or self._closing:
                raise
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            error, cause = execution.stop_request
            outcome = Outcome(ExecutionStatus.ABORTED, error=error, cause=cause)
        except AwsError:
            raise
        except Exception as exc:  # an engine bug must not lose the execution silently
            log.exception("execution %s: engine failure", execution.arn)
            outcome = Outcome(ExecutionStatus.FAILED, error="States.Runtime", cause=f"Internal error: {exc}")
        last = recorder.append(*terminal_event(outcome))
        self.tokens.close_execution(execution.arn)
        if execution.kind is ExecutionKind.STANDARD:
            # durable before the execution counts as ended: readers see RUNNING until then
            await self._durable(finish_standard(execution.arn, outcome, last.timestamp))
        elif execution.kind is ExecutionKind.EXPRESS:
            self._store.write_nowait(delete_pending(execution.arn))
        execution.finish(outcome, last.timestamp)
        METRICS.executions_completed.inc(outcome.status.value)
        METRICS.execution_duration.observe(last.timestamp - execution.start_date)
        return outcome

    async def _durable(self, op: Any) -> Any:
        """``store.write`` shielded from cancellation: a cancelled caller (client gone, shutdown)
        must not cancel the write's future under the store's writer thread."""
        return await asyncio.shield(self._store.write_future(op))

    def _engine_port(self) -> EnginePort | None:
        """The engine, unless a test replaced it with its own runner."""
        if self._runner is not None:
            return None
        if self._port is None:
            self._port = EnginePort(self._machines, self._task_invoker(), self._clock, self.tokens)
        return self._port

    async def _run(self, execution: Execution, value: Any, recorder: Recorder,
                   history: list[HistoryEvent] | None = None) -> Outcome:
        port = self._engine_port()
        if port is None:
            assert self._runner is not None and history is None
            return await self._runner(execution, value, recorder)
        return await port.run(execution, value, recorder, history)

    def _task_invoker(self) -> Any:
        """Lambda tasks, with nested ``states:startExecution*`` children in front of them."""
        if self._tasks is None:
            from .child_executions import ChildExecutions
            from .tasks import LambdaTasks

            lambdas = LambdaTasks(self._lambdas, services=self._services)
            self._tasks = ChildExecutions(lambdas, start=self._start, stop=self._stop_child)
        return self._tasks

    async def _stop_child(self, child: Execution, error: str | None, cause: str | None) -> None:
        """A stopped parent stops its ``.sync`` child; a server shutdown leaves it to recovery."""
        if not self._closing and child.status is ExecutionStatus.RUNNING:
            await self.stop_execution({"executionArn": child.arn, "error": error, "cause": cause})


def _open(gate: asyncio.Future[None]) -> None:
    if not gate.done():
        gate.set_result(None)
