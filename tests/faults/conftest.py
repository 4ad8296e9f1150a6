"""Fixtures for the fault tests: one ``asyncgate up`` of their own (so a fault cannot disturb the
session's shared server, and a memory figure is this server's alone), and Lambda functions made
through CreateFunction, as a user would make them."""

from __future__ import annotations

import io
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer, StartServer


def zipped(files: dict[str, str]) -> bytes:
    """A deployment package holding ``files`` (dedented)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, textwrap.dedent(text))
    return buffer.getvalue()


def create_function(server: LiveServer, name: str, code: str, **settings: Any) -> dict[str, Any]:
    """CreateFunction over boto3 with ``code`` as ``app.py`` (handler ``app.handler``)."""
    answer: dict[str, Any] = server.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/faults",
        Handler="app.handler",
        Code={"ZipFile": zipped({"app.py": code})},
        **settings,
    )
    return answer


@pytest.fixture(scope="module")
def fault_server(start_server: StartServer, tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """A server of this module's own, on a fresh data directory."""
    data: Path = tmp_path_factory.mktemp("faults-data")
    return start_server(data_dir=data)
