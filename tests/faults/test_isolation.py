"""Isolation: what a Lambda handler, a template or a request can reach, and what the server exposes.

- a Lambda worker gets its function's environment and Lambda's own variables, nothing of the server's,
  and no descriptor of the server's (no SQLite database, WAL or listening socket: ``/proc/self/fd``);
- a deployment package cannot write outside its folder (zip-slip members are refused);
- every SQL statement in ``asyncgate/`` takes its values as parameters: no f-string, ``%`` or
  ``.format`` builds SQL from a variable, except the few listed fixed-name ones;
- the server binds 127.0.0.1 unless told otherwise, and warns when told to bind anything else.
(VTL's fence around Python is fuzzed in ``test_fuzz.py`` and pinned in ``tests/gateway/test_gateway_vtl.py``.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ASYNCGATE, REPO, LiveServer, free_port
from tests.faults.conftest import create_function, zipped
from tests.faults.test_storage_faults import assembly

__all__ = ["assembly"]  # the storage tests' fixture: the sample app's synthesized cdk.out

SNOOP = """
import os, socket

def handler(event, context):
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:"):  # uvloop's subprocess pipes are socket pairs: say which kind
            sock = socket.socket(fileno=os.dup(int(fd)))
            listening = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            target += f" family={sock.family.name} listening={listening}"
            sock.close()
        fds[fd] = target
    return {"env": dict(os.environ), "fds": fds}
"""

#: Variables Lambda's Python runtime sets (the Lambda developer guide's "Defined runtime environment
#: variables"), and ours of the same kind; LC_CTYPE is set by Python itself when it coerces a C locale.
LAMBDA_VARIABLES = {
    "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "PATH", "LANG",
    "TZ", "LC_CTYPE",
}


def test_a_worker_sees_only_its_environment_and_no_server_descriptor(fault_server: LiveServer) -> None:
    create_function(fault_server, "snoop", SNOOP, Environment={"Variables": {"GREETING": "hi"}})
    answer = fault_server.client("lambda").invoke(FunctionName="snoop", Payload=b"{}")
    seen = json.loads(answer["Payload"].read())
    assert set(seen["env"]) - LAMBDA_VARIABLES == {"GREETING"}, sorted(seen["env"])
    assert seen["env"]["GREETING"] == "hi"
    targets = list(seen["fds"].values())
    data = str(fault_server.data_dir)
    leaks = [t for t in targets if "sqlite" in t or data in t or "AF_INET" in t or "listening=1" in t]
    assert leaks == [], seen["fds"]
    kinds = ("pipe:", "/dev/null", "/proc/", "socket:")  # the protocol and log pipes, and listdir's own
    assert all(t.startswith(kinds) for t in targets), seen["fds"]


def test_a_package_cannot_write_outside_its_folder(fault_server: LiveServer, tmp_path: Path) -> None:
    for evil in ("../../escaped.py", "/tmp/escaped-abs.py"):
        with pytest.raises(ClientError) as refused:
            fault_server.client("lambda").create_function(
                FunctionName="slip", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/x",
                Handler="app.handler",
                Code={"ZipFile": zipped({"app.py": "def handler(e, c): pass", evil: "x"})},
            )
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert not (fault_server.data_dir / "escaped.py").exists()
    assert not (fault_server.data_dir.parent / "escaped.py").exists()
    assert not Path("/tmp/escaped-abs.py").exists()


# -- SQL -------------------------------------------------------------------------------------------------
#: An ``execute``/``executemany``/``executescript`` whose SQL is built with an f-string, ``%`` or ``.format``.
_BUILT_SQL = re.compile(r"\.execute(?:many|script)?\(\s*(?:f[\"']|[\"'][^\"']*[\"']\s*(?:%|\.format))")
#: Built from fixed names only: a PRAGMA value chosen by the code, table names from a literal tuple.
ALLOWED = {
    ("asyncgate/local/store.py", 'self._writer.execute(f"PRAGMA synchronous={synchronous}")'),
}
#: f-string fields that are module constants (``{COLUMNS}``) or ``?`` placeholders counted from a list.
_FIXED_FIELD = re.compile(r"[A-Z][A-Z0-9_]*|','\.join\('\?' \* len\(\w+\)\)")


def test_every_sql_statement_takes_its_values_as_parameters() -> None:
    found = []
    for path in sorted((REPO / "asyncgate").rglob("*.py")):
        text = path.read_text()
        rel = str(path.relative_to(REPO))
        for match in _BUILT_SQL.finditer(text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())].strip()
            f_string = match.group(0).endswith(("f'", 'f"'))  # else % or .format: always values
            if (rel, line) not in ALLOWED and not (f_string and _fixed_only(line)):
                found.append(f"{rel}: {line}")
        # SQL strings assembled in a variable first, then executed
        for match in re.finditer(r"\bsql\s*\+?=\s*\(?\s*f[\"']([^\"']*)", text):
            if not _fixed_only(match.group(0)):
                found.append(f"{rel}: {match.group(0)}")
    assert found == [], "SQL built from values:\n" + "\n".join(found)


def _fixed_only(code: str) -> bool:
    """Whether every ``{...}`` of the f-strings in ``code`` is a constant or a placeholder list."""
    strings = re.findall(r"\bf([\"'])(.*?)\1", code)
    return all(_FIXED_FIELD.fullmatch(f) for _, body in strings for f in re.findall(r"\{([^}]*)\}", body))


# -- binding ---------------------------------------------------------------------------------------------
def test_the_server_binds_loopback_by_default(fault_server: LiveServer) -> None:
    port = f"{fault_server.port:04X}"
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if os.path.exists(table):
            for row in Path(table).read_text().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and local.endswith(":" + port):
                    listening.append(local)
    assert listening == ["0100007F:" + port], listening


def test_a_non_loopback_host_is_warned_about(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface here: the warning comes, then the bind fails, so no
    # server ever listens beyond this machine during the test.
    done = subprocess.run(
        [str(ASYNCGATE), "up", str(REPO), "--host", "192.0.2.1", "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )
    assert "binding 192.0.2.1: the server is reachable from other machines" in done.stderr, done.stderr
    assert done.returncode != 0


def test_an_asset_that_escapes_the_assembly_is_refused_at_start(assembly: Path, tmp_path: Path) -> None:
    """A cdk.out whose Lambda asset folder is a symlink to /etc: ``asyncgate up`` refuses it in one line
    (the escape rules themselves are pinned in tests/assembly/test_assembly_templates.py)."""
    hostile = tmp_path / "cdk.out"
    shutil.copytree(assembly, hostile, symlinks=True)
    asset = next(p for p in hostile.glob("asset.*") if p.is_dir())
    shutil.rmtree(asset)
    asset.symlink_to("/etc")
    done = subprocess.run(
        [str(ASYNCGATE), "up", "--assembly", str(hostile), "--port", str(free_port()),
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=120,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("asyncgate: cannot load the cloud assembly "), lines
    assert "outside the cloud assembly" in lines[0]
    assert not (tmp_path / "data").exists()  # refused before anything was written
