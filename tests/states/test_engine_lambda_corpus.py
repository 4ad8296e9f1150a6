"""The engine with the real local Lambda runtime against AWS's recordings (``kind=execution`` cases
with ``lambdas``).

The handlers are the one-file functions the corpus README describes, laid out line for line as the
originals so the recorded stack traces (``/var/task/handler.py``, line 2 / line 9) can match. Each case
runs the engine directly on a clock that runs with the wall clock (the real worker processes take real
time, so a virtual clock would time them out at once): twenty times faster, so Waits and retry back-offs
stay short, except where a TimeoutSeconds races a real invocation, which runs at real time (a function's
own run time does not scale). ``LambdaTasks`` is the production TaskInvoker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.states.clock import ScaledClock, SystemClock
from asyncgate.local.states.model import Failed
from asyncgate.local.states.tasks import LambdaTasks
from tests.corpus_functions import HANDLERS
from tests.states.engine_harness import compare, load_cases, run_definition

CASES = [c for c in load_cases() if c["kind"] == "execution" and c.get("lambdas")]

#: functions the corpus names without their code (``handler_file: null``, e.g. unknown_0/unknown_1 of
#: ``test_invoke_pipe``): what they return is not recorded, and a handler written to produce the recorded
#: output would test nothing. They are not created; such a case asserts what AWS answers for a function
#: that does not exist (``UNDESCRIBED_FUNCTION``), not the recording.
UNDESCRIBED_FUNCTION = "Lambda.ResourceNotFoundException"


def _undescribed(case: dict[str, Any]) -> list[str]:
    return [name for name, fn in case["lambdas"].items() if not fn.get("handler_file")]


def _kind(name: str) -> str | None:
    for prefix in sorted(HANDLERS, key=len, reverse=True):
        if name.startswith(prefix):
            return prefix
    return None


class _NoLogs:
    def put(self, group: str, stream: str, events: Any) -> None:
        pass


@pytest.fixture(scope="module")
def code_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("handlers")
    dirs = {}
    for name, text in HANDLERS.items():
        d = root / name
        d.mkdir()
        (d / "handler.py").write_text(text)
        dirs[name] = d
    return dirs


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


async def _run_case(case: dict[str, Any], code_dirs: dict[str, Path], data_dir: Path) -> Any:
    service = LambdaService(_NoLogs(), data_dir=data_dir)
    for name in case["lambdas"]:
        kind = _kind(name)
        if kind is None:
            continue
        service.register(
            FunctionConfig(
                name, function_arn(name), "handler.handler", "python3.12", code_dirs[kind], timeout_s=120
            )
        )
    try:
        tasks = LambdaTasks(service, account="111111111111")
        real_time = '"TimeoutSeconds"' in json.dumps(case["definition"])
        clock = SystemClock() if real_time else ScaledClock(20)
        return await run_definition(case["definition"], case["input"], tasks=tasks, clock=clock)
    finally:
        await service.close()


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_lambda_case(case: dict[str, Any], code_dirs: dict[str, Path], data_dir: Path) -> None:
    started = time.monotonic()
    outcome, _ = asyncio.run(asyncio.wait_for(_run_case(case, code_dirs, data_dir), 120))
    missing = _undescribed(case)
    if missing:
        # the first Task names a function that was not created: the execution fails as on AWS
        arn = f"arn:aws:lambda:us-east-1:111111111111:function:{missing[0]}:$LATEST"
        assert isinstance(outcome, Failed), outcome
        assert (outcome.error, (outcome.cause or "").split(" (Service")[0]) == (
            UNDESCRIBED_FUNCTION, f"Function not found: {arn}"), outcome
        return
    expected, actual = compare(case, outcome)
    assert actual == expected, (json.dumps(case["definition"])[:1500], time.monotonic() - started)
