"""Run the AWS CLI and the ``asyncgate`` command against a live server, as a user types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import ASYNCGATE, LiveServer

AWS = Path(sys.executable).parent / "aws"
ENV = {
    **os.environ,
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_PAGER": "",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def aws_run(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``aws ARGS --endpoint-url ... --region us-east-1 --output json``; any exit status."""
    command = [
        str(AWS),
        *args,
        "--endpoint-url",
        server.endpoint,
        "--region",
        "us-east-1",
        "--output",
        "json",
    ]
    return subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=60)


def aws(server: LiveServer, *args: str) -> Any:
    """The parsed JSON answer of an AWS CLI command that must succeed."""
    done = aws_run(server, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def asyncgate(*args: str) -> subprocess.CompletedProcess[str]:
    """The ``asyncgate`` command; any exit status."""
    return subprocess.run([str(ASYNCGATE), *args], capture_output=True, text=True, timeout=60)


def until(probe: Any, timeout: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
