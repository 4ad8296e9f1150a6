"""``aws logs tail`` (AWS CLI v2) against a live ``asyncgate up``: the short, detailed and json formats,
``--filter-pattern``, ``--log-stream-names``, and ``--follow`` picking up lines written after it started.

awscli v1 (``.venv/bin/aws``) has no ``logs tail``; ``make install`` puts AWS CLI v2 beside it as
``.venv/bin/aws2`` (Debian's awscli package, unpacked by ``tools/awscli2.py``). Under the hood
``logs tail`` is FilterLogEvents with ``interleaved`` and ``startTime``, paginated; ``--follow`` polls
every 5 s from the newest timestamp seen and drops the events whose ``eventId`` it already printed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.tooling.cli import ENV, until

AWS2 = Path(sys.executable).parent / "aws2"
FUNCTION_GROUP = "/aws/lambda/sample-func"
STATES_GROUP = "/aws/vendedlogs/states/sample"
SHORT_TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
#: the stream name Lambda gives an execution environment: 2026/11/25/[$LATEST]<32 hex digits>
LAMBDA_STREAM = r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}"


@pytest.fixture(scope="module")
def aws2() -> Path:
    if not AWS2.exists():
        pytest.fail(
            f"{AWS2} is missing: AWS CLI v2 is installed by `make install` (tools/awscli2.py). In a venv "
            "made before that, run `.venv/bin/python tools/awscli2.py .venv` or `rm .venv/.installed && "
            "make install`.",
            pytrace=False,
        )
    return AWS2


def tail(aws2: Path, server: LiveServer, group: str, *args: str) -> str:
    """``aws2 logs tail GROUP ARGS``, which must succeed; its stdout."""
    command = [str(aws2), "--endpoint-url", server.endpoint, "--region", "us-east-1", "logs", "tail", group]
    done = subprocess.run([*command, *args], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def post_webhook(server: LiveServer, marker: str) -> None:
    """The sample webhook: its workflow invokes sample-func, which logs ``Printing out the event ...``."""
    status, _, body = server.request(
        "POST",
        server.api_url(),
        body=json.dumps({"marker": marker}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, body


def printed(marker: str) -> str:
    return f"Printing out the event {{'marker': '{marker}'}}"


def tail_until(aws2: Path, server: LiveServer, group: str, needle: str, *args: str) -> str:
    """Run the tail until its output holds ``needle`` (the workflow is asynchronous); that output."""
    out = until(lambda: (lambda text: text if needle in text else None)(tail(aws2, server, group, *args)), 60)
    assert out, f"{needle!r} never appeared in `aws2 logs tail {group} {' '.join(args)}`"
    return str(out)


def test_aws2_is_cli_v2(aws2: Path) -> None:
    done = subprocess.run([str(aws2), "--version"], capture_output=True, text=True, env=ENV, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("aws-cli/2.9.19 "), done.stdout


def test_tail_short_and_detailed(aws2: Path, server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    post_webhook(server, marker)
    short = tail_until(aws2, server, FUNCTION_GROUP, printed(marker), "--since", "1h", "--format", "short")
    assert re.search(rf"^{SHORT_TS} {re.escape(printed(marker))}$", short, re.M), short

    detailed = tail(aws2, server, FUNCTION_GROUP, "--since", "1h", "--format", "detailed")
    line = re.search(
        rf"^{SHORT_TS}\.\d{{6}}\+00:00 ({LAMBDA_STREAM}) {re.escape(printed(marker))}$", detailed, re.M
    )
    assert line, detailed
    stream = line.group(1)

    # --log-stream-names: only that stream; its invocation framed by START, END and REPORT.
    own = tail(aws2, server, FUNCTION_GROUP, "--since", "1h", "--log-stream-names", stream, "--format=short")
    lines = [text.split(" ", 1)[1] for text in own.splitlines()]
    at = lines.index(printed(marker))
    start = re.compile(r"START RequestId: (\S+) Version: \$LATEST$")
    starts = [m.group(1) for m in map(start.match, lines[:at]) if m]
    assert starts, own
    request_id = starts[-1]
    after = lines[at + 1 :]
    assert f"END RequestId: {request_id}" in after, own
    assert any(t.startswith(f"REPORT RequestId: {request_id}\tDuration: ") for t in after), own

    # --filter-pattern: the one line with the marker.
    pattern = f'--filter-pattern="{marker}"'
    filtered = tail(aws2, server, FUNCTION_GROUP, "--since=1h", pattern, "--format=short")
    assert [text.split(" ", 1)[1] for text in filtered.splitlines()] == [printed(marker)], filtered


def test_tail_json_pretty_prints_execution_history(aws2: Path, server: LiveServer) -> None:
    marker = uuid.uuid4().hex
    post_webhook(server, marker)
    args = ("--since", "1h", "--format", "json", "--filter-pattern", f'"{marker}"')
    out = tail_until(aws2, server, STATES_GROUP, '"type": "ExecutionStarted"', *args)
    # Each event: "TIMESTAMP STREAM " on one line, then the message as JSON indented by 4.
    parts = re.split(r"^\S+\+00:00 states/\S+ \n", out, flags=re.M)
    assert parts[0] == "", out
    docs = [json.loads(part) for part in parts[1:]]
    assert all(part.startswith("{\n    ") for part in parts[1:]), out
    started = [d for d in docs if d["type"] == "ExecutionStarted"]
    assert len(started) == 1, out
    assert json.loads(started[0]["details"]["input"]) == {"marker": marker}
    assert {d["execution_arn"] for d in docs} == {started[0]["execution_arn"]}, out


class Follower:
    """``aws2 logs tail GROUP --follow`` as a background process, its stdout collected line by line."""

    def __init__(self, aws2: Path, server: LiveServer, group: str, *args: str) -> None:
        command = [str(aws2), "--endpoint-url", server.endpoint, "--region", "us-east-1",
                   "logs", "tail", group, "--follow", *args]
        # Python block-buffers a pipe; the CLI writes events without flushing.
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**ENV, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, needle: str) -> None:
        """Until a printed line holds ``needle``; polls every 5 s, so allow many polls."""
        def printed_or_exited() -> bool:
            return any(needle in line for line in self.lines) or self.process.poll() is not None

        until(printed_or_exited, 120)
        assert self.process.poll() is None, self.stop()
        assert any(needle in line for line in self.lines), f"{needle!r} never followed:\n{self.stop()}"

    def count(self, needle: str) -> int:
        return sum(needle in line for line in self.lines)

    def stop(self) -> str:
        """Terminate; everything it printed, stderr included."""
        self.process.terminate()
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        self.reader.join(timeout=30)
        return "\n".join(self.lines) + f"\n--- stderr (exit {self.process.returncode}):\n{err}"


def test_follow_prints_new_lines_once(aws2: Path, server: LiveServer) -> None:
    first, second, third = (uuid.uuid4().hex for _ in range(3))
    post_webhook(server, first)
    follower = Follower(aws2, server, FUNCTION_GROUP, "--format", "short")
    try:
        follower.wait_for(printed(first))  # the first poll (the last 10 minutes) has been printed
        post_webhook(server, second)
        follower.wait_for(printed(second))  # a later poll, from the newest timestamp seen
        post_webhook(server, third)
        follower.wait_for(printed(third))
        # polls overlap at the newest timestamp; the CLI drops the eventIds it printed already
        counts = {m: follower.count(printed(m)) for m in (first, second, third)}
        assert counts == {first: 1, second: 1, third: 1}, follower.lines
        assert all(re.match(rf"{SHORT_TS} ", line) for line in follower.lines), follower.lines
    finally:
        output = follower.stop()
    assert follower.process.returncode is not None, output
