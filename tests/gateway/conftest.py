"""The secured CDK app (``secured_app.py``), synthesized once per session and served by ``Secured``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import secured_app
from .harness import Secured


@pytest.fixture(scope="session")
def secured_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The secured app's cloud assembly (one ``cdk synth`` for the session)."""
    return secured_app.synth(tmp_path_factory.mktemp("secured") / "cdk.out")


@pytest.fixture(scope="session")
def secured(secured_cdk_out: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    """The secured API, served for the whole session."""
    harness = Secured(secured_cdk_out, tmp_path_factory.mktemp("secured-run"))
    yield harness
    harness.close()
