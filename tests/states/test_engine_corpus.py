"""The engine against AWS's recorded results: every ``kind=execution`` case that needs no Lambda.

Each case runs the engine directly (no server) on a virtual clock and compares status, output, error
and cause with the recording: all of them match, so there is no divergence list; none are skipped.
The boto3 conformance runner against a live server belongs to the service's tests.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.states.engine_harness import compare, load_cases, run_definition

CASES = [c for c in load_cases() if c["kind"] == "execution" and not c.get("lambdas")]

@pytest.mark.parametrize("case", [pytest.param(case, id=case["id"]) for case in CASES])
def test_execution_case(case: dict[str, Any]) -> None:
    outcome, _ = asyncio.run(asyncio.wait_for(run_definition(case["definition"], case["input"]), 20))
    expected, actual = compare(case, outcome)
    assert actual == expected, json.dumps(case["definition"])[:2000]


def test_corpus_pass_count(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many recorded executions the engine reproduces (informational, and a floor)."""
    passed = 0
    for case in CASES:
        try:
            outcome, _ = asyncio.run(asyncio.wait_for(run_definition(case["definition"], case["input"]), 20))
        except Exception:
            continue
        expected, actual = compare(case, outcome)
        passed += actual == expected
    with capsys.disabled():
        print(f"\nengine corpus: {passed}/{len(CASES)} no-Lambda executions match AWS's recordings")
    assert passed == len(CASES)
