"""The engine with the real local Lambda runtime against AWS's recordings (``kind=execution`` cases
with ``lambdas``).

The handlers are the one-file functions the corpus README describes, laid out line for line as the
originals so the recorded stack traces (``/var/task/handler.py``, line 2 / line 9) can match. Each case
runs the engine directly on the wall clock (the real worker processes take real time, so a virtual
clock would time them out at once); ``LambdaTasks`` is the production TaskInvoker.
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
from asyncgate.local.states.clock import SystemClock
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import compare, load_cases, run_definition

HANDLERS = {
    "id_function": "def handler(event, context):\n    return event\n",
    "raise_exception": 'def handler(event, context):\n    raise Exception("Some exception was raised.")\n',
    "raise_custom_exception": (
        "class CustomException(Exception):\n"
        "    message: str\n"
        "\n"
        "    def __init__(self):\n"
        '        self.message = "CustomException message"\n'
        "\n"
        "\n"
        "def handler(event, context):\n"
        "    raise CustomException()\n"
    ),
    "return_bytes_str": "def handler(event, context):\n    return b'\"HelloWorld!\"'\n",
    "large_output_string": 'def handler(event, context):\n    return ("a" * (257 * 1024)).encode("utf-8")\n',
    "wait_60_seconds": (
        "import time\n\n\ndef handler(event, context):\n    time.sleep(60)\n    return event\n"
    ),
}

CASES = [c for c in load_cases() if c["kind"] == "execution" and c.get("lambdas")]

#: id -> why the engine (or this harness) differs from the recording
DIVERGENCES: dict[str, str] = {
    "services_test_lambda_task_TestTaskLambda_test_invoke_pipe": (
        "harness: the recording's functions unknown_0/unknown_1 have no handler code in the corpus"
    ),
}


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
        kind = _kind(name) or "id_function"
        service.register(
            FunctionConfig(
                name, function_arn(name), "handler.handler", "python3.12", code_dirs[kind], timeout_s=120
            )
        )
    try:
        tasks = LambdaTasks(service, account="111111111111")
        return await run_definition(case["definition"], case["input"], tasks=tasks, clock=SystemClock())
    finally:
        await service.close()


def _params() -> list[Any]:
    out = []
    for case in CASES:
        marks = []
        if case["id"] in DIVERGENCES:
            marks.append(pytest.mark.xfail(strict=True, reason=DIVERGENCES[case["id"]]))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


@pytest.mark.parametrize("case", _params())
def test_lambda_case(case: dict[str, Any], code_dirs: dict[str, Path], data_dir: Path) -> None:
    started = time.monotonic()
    outcome, _ = asyncio.run(asyncio.wait_for(_run_case(case, code_dirs, data_dir), 120))
    expected, actual = compare(case, outcome)
    assert actual == expected, (json.dumps(case["definition"])[:1500], time.monotonic() - started)
