"""The per-request cost of the seed's path through Gateway.handle (the AWS call is a stub).

Everything is compiled at load, so a request only walks data: the target is well under 200 µs. Best of
five batches, so a busy machine does not fail the test.
"""

from __future__ import annotations

import asyncio
import json
import time

from asyncgate.local.gateway import Gateway, GatewayRequest, IntegrationResult, build_rest_apis

from .stack import API_ID, seed_stack

BUDGET_S = 200e-6


class InstantAws:
    """AWS answering at once, so only the gateway's own work is measured."""

    result = IntegrationResult(
        200, {}, b'{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:m:e"}'
    )

    async def call(self, **_: object) -> IntegrationResult:
        return self.result


def test_a_seed_request_costs_well_under_200_us(capsys: object) -> None:
    gateway = Gateway(build_rest_apis(seed_stack()), aws=InstantAws())
    body = json.dumps({"event": "order.created", "id": 12345, "customer": {"name": "O'Brien"}}).encode()
    request = GatewayRequest(
        "POST",
        API_ID,
        "main",
        "/",
        "",
        [("Content-Type", "application/json"), ("User-Agent", "curl/8")],
        body,
    )

    async def batch(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            await gateway.handle(request)
        return (time.perf_counter() - start) / n

    async def main() -> float:
        await batch(200)  # warm-up
        return min([await batch(500) for _ in range(5)])

    per_request = asyncio.run(main())
    print(f"seed request through Gateway.handle: {per_request * 1e6:.1f} us")
    assert per_request < BUDGET_S
