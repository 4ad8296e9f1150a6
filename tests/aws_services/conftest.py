"""One live server for the emulated-service tests, serving ``app.py`` synthesized by ``asyncgate up``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import LiveServer, StartServer

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def services_server(start_server: StartServer, tmp_path_factory: pytest.TempPathFactory) -> LiveServer:
    """``asyncgate up`` on a copy of ``app.py`` (its ``cdk.json`` runs it with this interpreter)."""
    app_dir = tmp_path_factory.mktemp("services-app")
    shutil.copy(HERE / "app.py", app_dir / "app.py")
    (app_dir / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
    return start_server(app_dir=app_dir)
