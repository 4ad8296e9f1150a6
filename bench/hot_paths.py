"""Per-call costs of the hot paths, in-process: ``python -m bench.hot_paths``.

What each request or execution pays before any I/O: the gateway's walk of a seed request (routing,
VTL, selection — the AWS call answered at once), an IAM decision, loading the assembly at start-up,
and a warm Lambda invoke round trip (pipe to the worker process and back, logs into the store).
These were timed assertions in the unit tests once; figures belong here, where they are printed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from asyncgate.local.assembly import Stack, load_assembly
from asyncgate.local.gateway import Gateway, GatewayRequest, IntegrationResult, build_rest_apis
from asyncgate.local.iam import Iam
from asyncgate.local.lambdas.service import LambdaService
from asyncgate.local.logs import Logs
from asyncgate.local.runtime import _function_config
from asyncgate.local.store import Store
from asyncgate.synth import synthesize

REPO = Path(__file__).resolve().parent.parent


class _InstantAws:
    """AWS answering at once, so only the gateway's own work is measured."""

    result = IntegrationResult(
        200, {}, b'{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e"}'
    )

    async def call(self, **_: object) -> IntegrationResult:
        return self.result


def _best_per_call(fn: Callable[[], Any], n: int, rounds: int = 5) -> float:
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


async def _best_per_await(fn: Callable[[], Awaitable[Any]], n: int, rounds: int = 5) -> float:
    await fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best


def _gateway(stack: Stack) -> float:
    [api] = build_rest_apis(stack)
    gateway = Gateway([api], aws=_InstantAws())
    body = json.dumps({"event": "order.created", "id": 12345, "customer": {"name": "O'Brien"}}).encode()
    request = GatewayRequest("POST", api.id, api.stages[0].name, "/", "",
                             [("Content-Type", "application/json")], body)
    return asyncio.run(_best_per_await(lambda: gateway.handle(request), 500))


def _iam(stack: Stack) -> float:
    iam = Iam.from_stacks([stack])
    [machine] = stack.of_type("AWS::StepFunctions::StateMachine")
    role = next(r.attributes["Arn"] for r in stack.of_type("AWS::IAM::Role")
                if "apigateway" in json.dumps(r.properties.get("AssumeRolePolicyDocument")))
    return _best_per_call(lambda: iam.is_allowed(role, "states:StartExecution", machine.physical_id), 5000)


def _lambda(stack: Stack) -> tuple[float, float]:
    async def scenario() -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "db.sqlite3")
            service = LambdaService(Logs(store), data_dir=Path(tmp), store=store)
            config = _function_config(stack.of_type("AWS::Lambda::Function")[-1], stack, Path(tmp))
            assert config is not None
            service.register(config)
            for _ in range(50):
                await service.invoke(config.name, b'{"k": 1}')
            samples = []
            for _ in range(500):
                start = time.perf_counter()
                await service.invoke(config.name, b'{"k": 1}')
                samples.append(time.perf_counter() - start)
            await service.close()
            store.close()
            samples.sort()
            return statistics.median(samples), samples[int(len(samples) * 0.99)]

    return asyncio.run(scenario())


def main() -> None:
    assembly_dir = synthesize(REPO)
    load = _best_per_call(lambda: load_assembly(assembly_dir), 20)
    stack = next(s for s in load_assembly(assembly_dir).stacks if s.of_type("AWS::ApiGateway::RestApi"))
    gateway = _gateway(stack)
    iam = _iam(stack)
    p50, p99 = _lambda(stack)
    print(f"{'hot path':<48}{'cost':>12}")
    print(f"{'seed request through Gateway.handle':<48}{gateway * 1e6:>9.1f} us")
    print(f"{'IAM is_allowed (states:StartExecution)':<48}{iam * 1e6:>9.2f} us")
    print(f"{'load_assembly (sample app)':<48}{load * 1e3:>9.2f} ms")
    print(f"{'warm Lambda invoke, p50 (sample-func)':<48}{p50 * 1e6:>9.0f} us")
    print(f"{'warm Lambda invoke, p99':<48}{p99 * 1e6:>9.0f} us")


if __name__ == "__main__":
    main()
