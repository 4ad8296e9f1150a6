"""The Examples in the Step Functions service modules' docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["service", "machines", "executions", "engine_port", "vended_logs", "recorder", "recovery",
           "queries", "tags", "validation", "test_state", "callbacks", "child_executions", "task_tokens",
           "clock"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"asyncgate.local.states.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
