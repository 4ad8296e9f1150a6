"""The secured API behind ``Gateway.handle``: real Lambda runtime, real log store, a clock tests move."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from asyncgate.local.assembly import Stack, load_assembly
from asyncgate.local.gateway import Gateway, GatewayRequest, GatewayResponse, build_rest_apis
from asyncgate.local.lambdas import FunctionConfig, LambdaService
from asyncgate.local.logs import Logs
from asyncgate.local.store import Store

from . import secured_app


class Secured:
    """The secured API behind ``Gateway.handle``, with its functions on a real ``LambdaService``."""

    def __init__(self, cdk_out: Path, tmp: Path) -> None:
        self.cdk_out = cdk_out
        self.stack: Stack = load_assembly(cdk_out).stack(secured_app.STACK)
        (self.api,) = build_rest_apis(self.stack)
        self.now = 1_700_000_000.0
        self.loop = asyncio.new_event_loop()
        self.store = Store(tmp / "db.sqlite3", synchronous="OFF")
        self.logs = Logs(self.store)
        self.lambdas: LambdaService = self.loop.run_until_complete(self._lambdas(tmp))
        self.gateway = Gateway(
            [self.api], aws=None, lambdas=self.lambdas, logs=self.logs, clock=lambda: self.now
        )

    async def _lambdas(self, tmp: Path) -> LambdaService:
        service = LambdaService(self.logs, data_dir=tmp / "data", store=self.store)
        for fn in self.stack.of_type("AWS::Lambda::Function"):
            code = tmp / "code" / fn.physical_id
            code.mkdir(parents=True)
            (code / "index.py").write_text(fn.properties["Code"]["ZipFile"])
            service.register(
                FunctionConfig(fn.physical_id, fn.attributes["Arn"], "index.handler", "python3.12", code)
            )
        return service

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        query: str = "",
    ) -> GatewayResponse:
        """One request to the ``main`` stage."""
        request = GatewayRequest(
            method, self.api.api_id, "main", path, query, list((headers or {}).items()), body, "192.0.2.7"
        )
        return self.loop.run_until_complete(self.gateway.handle(request))

    def log_lines(self, group: str) -> list[str]:
        """The messages of a log group, oldest first (after the store has written them)."""
        self.loop.run_until_complete(self.store.barrier())
        answer = self.loop.run_until_complete(self.logs.filter_log_events({"logGroupName": group}))
        return [e["message"] for e in answer["events"]]

    def close(self) -> None:
        self.loop.run_until_complete(self.lambdas.close())
        self.loop.close()
        self.store.close()


def body(response: GatewayResponse) -> Any:
    """The response body as JSON."""
    return json.loads(response.body)


def header(response: GatewayResponse, name: str) -> str | None:
    """A response header's value (case-insensitive)."""
    return next((v for k, v in response.headers if k.lower() == name.lower()), None)
