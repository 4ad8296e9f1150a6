"""The Express worker's runner, in process: a burst of starts larger than ``MAX_RUNNING`` runs at most
that many at once, and every one of them ends and is reported done (the rest wait as messages);
executions asleep in a Wait do not count, so any number of them wait together."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.assembly import load_assembly
from asyncgate.local.express_worker import child
from asyncgate.local.express_worker.child import ExpressRunner
from asyncgate.local.logs import LOGS_DB, Logs
from asyncgate.local.runtime import Runtime
from asyncgate.local.store import Store

REPO = Path(__file__).resolve().parents[2]


class _Sink:
    """Where the runner's messages to the server go: kept, with the running count at each "done"."""

    def __init__(self, runner: list[ExpressRunner]) -> None:
        self.done: list[str] = []
        self.running_at_done: list[int] = []
        self._runner = runner

    def send(self, message: Any) -> None:
        if message[0] == "done":
            self.done.append(message[1])
            self.running_at_done.append(len(self._runner[0]._running))


def _runner(tmp_path: Path) -> tuple[ExpressRunner, _Sink, Store]:
    """A runner writing its logs under ``tmp_path``, its messages to the server kept in a ``_Sink``."""
    store = Store(tmp_path / "worker" / LOGS_DB)
    holder: list[ExpressRunner] = []
    sink = _Sink(holder)
    runner = ExpressRunner(
        sink,  # type: ignore[arg-type]  # the runner only calls send()
        Logs(store), data_dir=tmp_path / "worker", endpoint_url=None, region="us-east-1",
        account="000000000000",
    )
    holder.append(runner)
    return runner, sink, store


def test_a_burst_beyond_the_cap_waits_as_messages_and_every_execution_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child, "MAX_RUNNING", 3)

    async def scenario() -> tuple[_Sink, list[str], int, int]:
        runtime = Runtime(load_assembly(REPO / "cdk.out"), tmp_path / "server")
        await runtime.start()
        try:
            [listed] = (await runtime.states.list_state_machines({}))["stateMachines"]
            machine = runtime.states._machines.get(listed["stateMachineArn"])
            functions = runtime.lambdas.functions()
        finally:
            await runtime.close()
        runner, sink, store = _runner(tmp_path)
        runner.handle(("functions", functions))
        runner.handle(("revision", machine, machine.revision))
        express = machine.arn.replace(":stateMachine:", ":express:")
        most_queued = 0
        started = [f"{express}:e{i}:u{i}" for i in range(20)]
        for i, arn in enumerate(started):
            revision_id = machine.revision.revision_id
            runner.handle(("start", arn, f"e{i}", revision_id, json.dumps({"i": i}), time.time()))
            most_queued = max(most_queued, len(runner._queued))
        most_running = len(runner._running)
        deadline = time.monotonic() + 60
        while len(sink.done) < 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await runner.close()
        store.close()
        return sink, started, most_queued, most_running

    sink, started, most_queued, most_running = asyncio.run(scenario())
    assert sorted(sink.done) == sorted(started)  # each once
    assert (most_running, most_queued) == (3, 17)
    assert max(sink.running_at_done) <= 3


def test_executions_asleep_in_a_wait_do_not_hold_back_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(child, "MAX_RUNNING", 2)
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "S"},
                                             "S": {"Type": "Succeed"}}}

    async def scenario() -> tuple[_Sink, list[str], tuple[int, int]]:
        runtime = Runtime(load_assembly(REPO / "cdk.out"), tmp_path / "server")
        await runtime.start()
        try:
            created = await runtime.states.create_state_machine({
                "name": "sleepers", "definition": json.dumps(definition), "type": "EXPRESS",
                "roleArn": "arn:aws:iam::000000000000:role/x",
            })
            machine = runtime.states._machines.get(created["stateMachineArn"])
        finally:
            await runtime.close()
        runner, sink, store = _runner(tmp_path)
        runner.handle(("revision", machine, machine.revision))
        express = machine.arn.replace(":stateMachine:", ":express:")
        started = [f"{express}:s{i}:u{i}" for i in range(6)]
        for i, arn in enumerate(started):
            runner.handle(("start", arn, f"s{i}", machine.revision.revision_id, "{}", time.time()))
        await asyncio.sleep(0.2)  # each one runs into its Wait
        asleep_together = (len(runner._running), runner.asleep)
        deadline = time.monotonic() + 30
        while len(sink.done) < 6 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await runner.close()
        store.close()
        return sink, started, asleep_together

    sink, started, asleep_together = asyncio.run(scenario())
    assert asleep_together == (6, 6)  # all admitted, two at work at a time, each then asleep
    assert sorted(sink.done) == sorted(started)
