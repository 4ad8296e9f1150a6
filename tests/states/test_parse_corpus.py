"""CreateStateMachine's verdicts, recorded against AWS: every ``kind=invalid_definition`` case must be
rejected with AWS's exact message, and every other recorded definition must parse.
"""

from __future__ import annotations

from typing import Any

import pytest

from asyncgate.local.errors import InvalidDefinition
from asyncgate.local.states.parse import parse_definition
from tests.states.engine_harness import load_cases

CASES = load_cases()
INVALID = [c for c in CASES if c["kind"] == "invalid_definition"]
VALID = [c for c in CASES if c["kind"] == "execution"]
#: botocore's wrapper around the service's message in the recordings
PREFIX = "An error occurred (InvalidDefinition) when calling the CreateStateMachine operation: "


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in INVALID])
def test_invalid_definition_rejected_with_aws_message(case: dict[str, Any]) -> None:
    with pytest.raises(InvalidDefinition) as info:
        parse_definition(case["definition"])
    assert PREFIX + info.value.message == case["expected"]["cause"]
    assert info.value.code == case["expected"]["error"]


def test_every_executed_definition_parses() -> None:
    failures = []
    for case in VALID:
        try:
            parse_definition(case["definition"])
        except InvalidDefinition as exc:
            failures.append((case["id"], exc.message))
    assert failures == []
    assert len(INVALID) >= 8
