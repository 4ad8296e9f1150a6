"""Fixtures for the Lambda runtime tests: real worker processes, real handlers in ``tmp_path``.

Nothing of ours is mocked: handlers are files on disk, workers are ``python -I worker.py``
processes, logs go through ``Logs`` into a real SQLite ``Store``.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.logs import Logs
from asyncgate.local.store import Store

T = TypeVar("T")


@dataclass
class Runtime:
    """A LambdaService on a fresh store, and a place to write handlers."""

    tmp: Path
    store: Store
    logs: Logs

    def code(self, files: dict[str, str], folder: str = "code") -> Path:
        """Write handler files (dedented) into a folder; returns it."""
        code_dir = self.tmp / folder
        code_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (code_dir / name).write_text(textwrap.dedent(text))
        return code_dir

    def service(self, **options: Any) -> LambdaService:
        return LambdaService(self.logs, data_dir=self.tmp / "data", store=self.store, **options)

    def run(self, scenario: Callable[[LambdaService], Awaitable[T]], **options: Any) -> T:
        """Run ``scenario(service)`` on a fresh event loop, closing the service after."""

        async def main() -> T:
            service = self.service(**options)
            try:
                return await scenario(service)
            finally:
                await service.close()

        return asyncio.run(main())

    async def log_messages(self, group: str) -> list[tuple[str, str]]:
        """Every (stream, message) in a log group, once committed."""
        await self.store.barrier()
        request: dict[str, Any] = {"logGroupName": group}
        found: list[tuple[str, str]] = []
        while True:
            answer = await self.logs.filter_log_events(request)
            found += [(e["logStreamName"], e["message"]) for e in answer["events"]]
            if not answer.get("nextToken"):
                return found
            request["nextToken"] = answer["nextToken"]


def config(name: str, handler: str, code_dir: Path, **fields: Any) -> FunctionConfig:
    """A template-style function config."""
    return FunctionConfig(name, function_arn(name), handler, "python3.12", code_dir, **fields)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    store = Store(tmp_path / "db.sqlite", synchronous="OFF")
    try:
        yield Runtime(tmp_path, store, Logs(store))
    finally:
        store.close()
