"""The Examples in the docstrings of ``asyncgate.local``'s own modules run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["deadlines", "http_protocol", "logs", "jsontext", "ids"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"asyncgate.local.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
