"""The Examples in the gateway's docstrings run (they are the public API's documentation)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import asyncgate.local.gateway as gateway

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(gateway.__path__, prefix="asyncgate.local.gateway.")
)


@pytest.mark.parametrize("name", ["asyncgate.local.gateway", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
