"""Servers the benchmarks measure: ``asyncgate up`` as a user starts it, and a bare ASGI baseline.

The baseline is the floor for the intake figure: an ASGI app that answers ``200`` with the seed's body
and does nothing else, served by uvicorn with the settings ``asyncgate up`` uses (``cli.py``: log level
warning, no access log, lifespan on, uvicorn's automatic loop, and its httptools protocol sending each
response in one write: ``asyncgate.local.http_protocol``). Their ratio is
what the gateway, IAM, VTL and the durable hand-off cost on top of HTTP itself.

Every server here binds 127.0.0.1 on a free port and is stopped (by its own pid) by the context manager.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "REPO",
    "Served",
    "asyncgate_up",
    "bare_asgi",
    "client",
    "free_port",
    "rss_mb",
    "scrape",
    "wait_http",
    "wait_idle",
    "wait_metric",
]

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
_BODY = b'{"status": "webhook submitted"}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    """A running server process."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path | None = None
    ready_s: float = 0.0
    apis: list[dict[str, Any]] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_path(self) -> str:
        """The path of the sample API's stage (``/restapis/{id}/{stage}/_user_request_/``)."""
        assert self.apis
        url = str(self.apis[0]["url"])
        return url[url.index("/restapis/") :]


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 240.0) -> float:
    """Poll ``url`` until it answers 200; returns seconds waited. Fails if the process exits."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{url} not ready in {timeout} s")


def rss_mb(pid: int) -> float:
    """Resident set size of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def asyncgate_up(*extra: str, data_dir: Path | None = None) -> Iterator[Served]:
    """``asyncgate up REPO`` on a free port with a fresh data dir (the synth is cached in cdk.out)."""
    with tempfile.TemporaryDirectory(prefix="asyncgate-bench-") as tmp:
        data = data_dir or Path(tmp) / "data"
        port = free_port()
        env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115 - closed below
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN / "asyncgate"), "up", str(REPO), "--port", str(port), "--data-dir", str(data), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )
        try:
            served = Served(process, port, data)
            wait_http(f"{served.endpoint}/_asyncgate/health", process)
            served.ready_s = time.perf_counter() - started
            with urllib.request.urlopen(f"{served.endpoint}/_asyncgate/apis", timeout=5) as resp:
                served.apis = json.loads(resp.read())
            yield served
        except BaseException:
            log.flush()
            sys.stderr.write((Path(tmp) / "server.log").read_text(errors="replace")[-4000:])
            raise
        finally:
            _stop(process)
            log.close()


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The baseline: read the body, answer 200 with the seed's body; nothing else."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})


@contextlib.contextmanager
def bare_asgi() -> Iterator[Served]:
    """uvicorn serving ``bare_app`` with ``asyncgate up``'s uvicorn settings."""
    port = free_port()
    code = (
        "import uvicorn; from bench.servers import bare_app; "
        f"uvicorn.Server(uvicorn.Config(bare_app, host='127.0.0.1', port={port}, log_level='warning', "
        "lifespan='on', access_log=False, proxy_headers=False, "
        "http='asyncgate.local.http_protocol:CoalescingProtocol')).run()"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
    try:
        wait_http(f"http://127.0.0.1:{port}/", process, timeout=30)
        yield Served(process, port)
    finally:
        _stop(process)


def scrape(endpoint: str) -> dict[str, float]:
    """``GET /_asyncgate/metrics`` as {series: value}."""
    with urllib.request.urlopen(f"{endpoint}/_asyncgate/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def wait_metric(endpoint: str, name: str, at_least: float, timeout: float = 300.0) -> float:
    """Poll the metrics until ``name`` reaches ``at_least``; returns the moment it did (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while True:
        value = scrape(endpoint).get(name, 0.0)
        if value >= at_least:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{name} = {value}, wanted {at_least} within {timeout} s")
        time.sleep(0.02)


def wait_idle(endpoint: str, timeout: float = 300.0) -> None:
    """Poll the metrics until every execution begun has ended (no backlog left from earlier load)."""
    deadline = time.perf_counter() + timeout
    while True:
        samples = scrape(endpoint)
        begun = sum(v for k, v in samples.items() if k.startswith("asyncgate_executions_started_total"))
        ended = sum(v for k, v in samples.items() if k.startswith("asyncgate_executions_completed_total"))
        if ended >= begun:
            return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{begun - ended} executions still running after {timeout} s")
        time.sleep(0.05)


def client(service: str, endpoint: str) -> Any:
    """A boto3 client for ``service`` on a local endpoint (any credentials; no retries, so a slow or
    failed call is measured as it is)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 0}),
    )
