"""Helpers for the engine tests: a recording Recorder, a context, and corpus comparison.

The corpus (``shared/conformance/asl/cases.jsonl``) holds AWS's recorded results; volatile places
(ARNs, dates, request ids) are compared by the case's regex, or accepted when it has none.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

from asyncgate.local.states.clock import VirtualClock
from asyncgate.local.states.engine import Engine, ExecutionContext, Outcome
from asyncgate.local.states.parse import parse_definition

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "asl" / "cases.jsonl"
ACCOUNT = "111111111111"
MACHINE_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:machine"
EXECUTION_ARN = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:machine:run-1"


def load_cases() -> list[dict[str, Any]]:
    if not CORPUS.exists():
        return []
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


class Events:
    """A Recorder that keeps ``(id, type, details)``; ExecutionStarted is id 1, as in the service."""

    def __init__(self) -> None:
        self.items: list[tuple[int, str, dict[str, Any] | None]] = []
        self.last_id = 1

    async def event(self, type: str, details: dict[str, Any] | None) -> None:
        self.last_id += 1
        self.items.append((self.last_id, type, details))

    @property
    def types(self) -> list[str]:
        return [t for _, t, _ in self.items]


def context(value: Any, *, start: float = 1_700_000_000.0) -> ExecutionContext:
    return ExecutionContext(
        execution_arn=EXECUTION_ARN,
        execution_name="run-1",
        state_machine_arn=MACHINE_ARN,
        state_machine_name="machine",
        start_date=start,
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/snf_role_arn",
        input=value,
    )


async def run_definition(
    definition: Any, value: Any, *, tasks: Any = None, clock: Any = None
) -> tuple[Outcome, Events]:
    clock = clock or VirtualClock()
    events = Events()
    engine = Engine(parse_definition(definition), tasks=tasks, clock=clock)
    outcome = await engine.run(value, context(value, start=clock.time()), events)
    return outcome, events


def _pointer_parts(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _get(doc: Any, parts: list[str]) -> tuple[bool, Any]:
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            return False, None
    return True, cur


def _set(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if isinstance(doc, dict) and head in doc:
        doc[head] = _set(doc[head], rest, value)
    elif isinstance(doc, list) and head.isdigit() and int(head) < len(doc):
        doc[int(head)] = _set(doc[int(head)], rest, value)
    return doc


def actual_document(outcome: Outcome) -> dict[str, Any]:
    """The outcome in the corpus's ``expected`` shape."""
    from asyncgate.local.states.engine import Failed, Succeeded

    if isinstance(outcome, Succeeded):
        return {"status": "SUCCEEDED", "output": outcome.output}
    if isinstance(outcome, Failed):
        doc: dict[str, Any] = {"status": "FAILED"}
        if outcome.error is not None:
            doc["error"] = outcome.error
        if outcome.cause:  # DescribeExecution, which the recordings read, leaves an empty cause out
            doc["cause"] = outcome.cause
        return doc
    return {"status": type(outcome).__name__.upper()}


def compare(case: dict[str, Any], outcome: Outcome) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(expected, actual)`` with volatile places of ``actual`` replaced when they match."""
    expected = json.loads(json.dumps(case["expected"]))
    actual = json.loads(json.dumps(actual_document(outcome)))
    if expected.get("cause_is_json"):
        expected.pop("cause_is_json")
        for doc in (expected, actual):
            if isinstance(doc.get("cause"), str):
                with contextlib.suppress(ValueError):
                    doc["cause"] = json.loads(doc["cause"])
    _unmask_sdk_metadata(expected, actual)
    patterns = case.get("volatile_patterns") or {}
    for pointer in case.get("volatile_pointers") or []:
        parts = _pointer_parts(pointer)
        found_e, exp_value = _get(expected, parts)
        found_a, act_value = _get(actual, parts)
        if not (found_e and found_a):
            continue
        regex = patterns.get(pointer)
        text = act_value if isinstance(act_value, str) else json.dumps(act_value)
        if regex is None or re.search(regex, text, re.S):
            actual = _set(actual, parts, exp_value)
    return expected, actual


#: headers the recordings masked without listing a volatile pointer (request ids, trace ids, dates)
_MASKED = frozenset({"x-amzn-RequestId", "X-Amzn-Trace-Id", "Date", "RequestId"})


def _unmask_sdk_metadata(expected: Any, actual: Any, masked_name: bool = False) -> None:
    """Copy per-request values into ``expected`` where the recording holds a placeholder for them.

    Content-Length is accepted too when the recorded payload held a masked function name, whose
    real length the placeholder hides.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        masked_name = masked_name or "<lambda_function_name>" in json.dumps(expected.get("Payload", ""))
        for key, exp in expected.items():
            if key not in actual:
                continue
            placeholder = isinstance(exp, str | list) and (
                key in _MASKED and (exp in (key, "date") or re.fullmatch(r"\[?'?<.*>'?\]?", str(exp)))
            )
            if placeholder or (key == "Content-Length" and masked_name):
                expected[key] = actual[key]
            elif key == "AllHttpHeaders" or key in _MASKED:
                _unmask_all(exp, actual[key], masked_name)
            else:
                _unmask_sdk_metadata(exp, actual[key], masked_name)
    elif isinstance(expected, list) and isinstance(actual, list):
        for e, a in zip(expected, actual, strict=False):
            _unmask_sdk_metadata(e, a, masked_name)


def _unmask_all(expected: Any, actual: Any, masked_name: bool) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected):
            if key in actual and (key in _MASKED or (key == "Content-Length" and masked_name)):
                expected[key] = actual[key]
