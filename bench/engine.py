"""Engine: executions per second on the same definitions, asyncgate's engine vs moto's executing mode.

Both run in this process through their service layer, with the same batch of concurrent executions:

- asyncgate: a ``Runtime`` over the sample app's ``cdk.out`` (so the seed's Lambda is the real handler
  on a warm worker), ``StatesService.start_execution`` with AWS's request shape; completion is read from
  ``METRICS.executions_completed``. STANDARD machines, so every start and end is a durable group commit.
- moto 5 with ``@mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``: its vendored
  LocalStack interpreter, one thread per execution, driven through an in-process boto3 client (moto's
  supported interface; botocore's in-process cost is ~0.3 ms a call, small against moto's per-execution
  cost, and completion is polled with one ListExecutions per 10 ms, not per execution).

Each engine runs with what its start-up built frozen out of the garbage collector's reach
(``gc.freeze``), as ``asyncgate up`` runs once ready; without it, full collections here also walk
the other engine's modules.

Definitions: Pass -> Succeed; Choice + Map (10 items through a Pass iterator); the seed's workflow.
moto cannot run Lambda code without Docker, so for the seed it runs the same definition with the Task
replaced by a Pass of the same data flow (``seed-shape``), and asyncgate runs that too for the ratio;
asyncgate's figure with the real Lambda is printed beside it.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["DEFINITIONS", "run"]

ROLE = "arn:aws:iam::000000000000:role/bench"

DEFINITIONS: dict[str, dict[str, Any]] = {
    "pass-succeed": {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Result": {"ok": True}, "ResultPath": "$.r", "Next": "S"},
            "S": {"Type": "Succeed"},
        },
    },
    "choice-map": {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "M"}],
                "Default": "F",
            },
            "F": {"Type": "Fail", "Error": "NoItems"},
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 0,
                "ResultPath": "$.out",
                "Iterator": {
                    "StartAt": "I",
                    "States": {"I": {"Type": "Pass", "Parameters": {"v.$": "$"}, "End": True}},
                },
                "Next": "S",
            },
            "S": {"Type": "Succeed"},
        },
    },
}
INPUT = json.dumps({"n": 10, "items": list(range(10)), "order": 42})


def _seed_definitions() -> tuple[str, str]:
    """The seed's definition as synthesized, and its shape with the Lambda Task as a Pass."""
    from asyncgate.local.assembly import load_assembly, state_machine_definition

    from .servers import REPO

    assembly = load_assembly(REPO / "cdk.out")
    machine = next(m for s in assembly.stacks for m in s.of_type("AWS::StepFunctions::StateMachine"))
    real = state_machine_definition(machine)
    shape = json.loads(real)
    for state in shape["States"].values():
        if state["Type"] == "Task":  # same data flow: Payload.$ wraps the input, OutputPath unwraps it
            state.clear()
            state.update(
                {
                    "Type": "Pass",
                    "Parameters": {"Payload.$": "$"},
                    "OutputPath": "$.Payload",
                    "Next": "SuccessState",
                }
            )
    return real, json.dumps(shape)


async def _asyncgate(count: int, batch: int) -> dict[str, float]:
    from asyncgate.local.assembly import load_assembly
    from asyncgate.local.metrics import METRICS
    from asyncgate.local.runtime import Runtime

    from .servers import REPO

    real_seed, seed_shape = _seed_definitions()
    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(load_assembly(REPO / "cdk.out"), Path(tmp))
        await runtime.start()
        _freeze()
        try:
            states = runtime.states
            machines = {}
            for name, definition in [
                *((n, json.dumps(d)) for n, d in DEFINITIONS.items()),
                ("seed-shape", seed_shape),
                ("seed (real Lambda)", real_seed),
            ]:
                machines[name] = (
                    await states.create_state_machine(
                        {
                            "name": "bench-" + name.split()[0],
                            "definition": definition,
                            "roleArn": ROLE,
                            "type": "STANDARD",
                        }
                    )
                )["stateMachineArn"]
            for name, arn in machines.items():
                for timed in (False, True):  # a warm-up pass (Lambda worker start, caches) first
                    n = count if timed else batch
                    done = sum(METRICS.executions_completed.values.values())
                    started = time.perf_counter()
                    for at in range(0, n, batch):
                        size = min(batch, n - at)
                        await asyncio.gather(
                            *(
                                states.start_execution({"stateMachineArn": arn, "input": INPUT})
                                for _ in range(size)
                            )
                        )
                        while sum(METRICS.executions_completed.values.values()) < done + at + size:
                            await asyncio.sleep(0.0005)
                    if timed:
                        rates[name] = n / (time.perf_counter() - started)
            failed = METRICS.executions_completed.get("FAILED")
            assert not failed, f"{failed} executions failed"
        finally:
            await runtime.close()
    return rates


def _moto(count: int, batch: int) -> dict[str, float]:
    import boto3
    from moto import mock_aws

    _real, seed_shape = _seed_definitions()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    rates: dict[str, float] = {}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client(
            "stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
        )
        _freeze()
        for name, definition in [
            *((n, json.dumps(d)) for n, d in DEFINITIONS.items()),
            ("seed-shape", seed_shape),
        ]:
            arn = sfn.create_state_machine(name="bench-" + name, definition=definition, roleArn=ROLE)[
                "stateMachineArn"
            ]
            for timed in (False, True):
                n = count if timed else min(batch, 10)
                started = time.perf_counter()
                for at in range(0, n, batch):
                    for i in range(min(batch, n - at)):
                        sfn.start_execution(stateMachineArn=arn, input=INPUT, name=f"e{timed:d}-{at + i}")
                    while sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
                        time.sleep(0.01)
                if timed:
                    rates[name] = n / (time.perf_counter() - started)
            failed = sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"]
            assert not failed, f"moto: {len(failed)} {name} executions failed"
    return rates


def _freeze() -> None:
    """What start-up built leaves the collector's reach, as ``asyncgate up`` does once ready; both
    engines get it (this process also holds the other's modules and moto's imports)."""
    gc.collect()
    gc.freeze()


def run(count: int = 2000, moto_count: int = 200, batch: int = 50) -> dict[str, Any]:
    """Executions/s per definition for both engines, and their ratios."""
    ours = asyncio.run(_asyncgate(count, batch))
    gc.unfreeze()
    theirs = _moto(moto_count, batch)
    gc.unfreeze()
    rows = []
    for name, rate in ours.items():
        compare = theirs.get(name)
        rows.append(
            {
                "definition": name,
                "asyncgate": rate,
                "moto": compare,
                "ratio": rate / compare if compare else None,
            }
        )
    return {"rows": rows, "batch": batch, "count": count, "moto_count": moto_count}


def main() -> None:
    result = run()
    print(f"engine: executions/s, {result['batch']} concurrent, STANDARD machines")
    for row in result["rows"]:
        moto = f"{row['moto']:9.1f}" if row["moto"] else "      n/a"
        ratio = f"{row['ratio']:6.1f}x" if row["ratio"] else "   n/a"
        print(f"  {row['definition']:20s} asyncgate {row['asyncgate']:9.1f}  moto {moto}  {ratio}")


if __name__ == "__main__":
    main()
