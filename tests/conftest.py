"""Shared fixtures: a live asyncgate server started the way a user starts it.

``server`` is one ``asyncgate up`` process for the whole session, serving the repository's sample app
on a free port with a temporary ``--data-dir``. Tests talk to it over HTTP, with boto3 and with the
AWS CLI — never through internal calls. ``start_server`` starts more (another assembly, a restart on
the same data directory, a kill -9).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ASYNCGATE = Path(sys.executable).parent / "asyncgate"
#: first synth on a fresh machine fills the jsii cache (~15 s); leave room for a slow CI box
START_TIMEOUT = 240.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """One running ``asyncgate up`` process."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    apis: list[dict[str, Any]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client for a service on this server (any credentials work)."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 0}, inject_host_prefix=False, **config),
        )

    def api_url(self, name: str = "Sample API") -> str:
        """The path-style invoke URL of a REST API stage, from ``/_asyncgate/apis``."""
        for api in self.apis:
            if api["name"] == name:
                return str(api["url"])
        raise KeyError(f"no API named {name!r} in {self.apis}")

    def request(
        self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request; returns (status, headers, body) for any status."""
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def _wait_ready(server: LiveServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"asyncgate up exited with {server.process.returncode}:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.endpoint}/_asyncgate/health", timeout=2) as resp:
                if json.loads(resp.read()) == {"status": "ok"}:
                    with urllib.request.urlopen(f"{server.endpoint}/_asyncgate/apis", timeout=5) as apis:
                        server.apis = json.loads(apis.read())
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"asyncgate up not ready in {START_TIMEOUT} s:\n{server.output()}")


StartServer = Callable[..., LiveServer]


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Start ``asyncgate up`` processes; all are stopped at the end of the session."""
    started: list[LiveServer] = []

    def start(
        *args: str, data_dir: Path | None = None, app_dir: Path = REPO, port: int | None = None
    ) -> LiveServer:
        data = data_dir or tmp_path_factory.mktemp("data")
        port = port or free_port()
        log_path = tmp_path_factory.mktemp("log") / "server.log"
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [str(ASYNCGATE), "up", str(app_dir), "--port", str(port), "--data-dir", str(data), *args],
                stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
            )
        server = LiveServer(port=port, data_dir=data, process=process, log_path=log_path)
        started.append(server)
        _wait_ready(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server: StartServer) -> LiveServer:
    """The sample app, served by one ``asyncgate up`` for the whole session."""
    return start_server()
