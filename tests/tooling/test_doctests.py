"""The Examples in the ``asyncgate executions`` / ``history`` module's docstrings run as tests."""

from __future__ import annotations

import doctest

import asyncgate.executions_cli


def test_docstring_examples() -> None:
    result = doctest.testmod(asyncgate.executions_cli)
    assert result.attempted > 0 and result.failed == 0
