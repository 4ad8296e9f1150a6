"""``asyncgate up`` refuses a data directory it cannot keep its promises on — read-only, full, or a
corrupt database — before it serves anything: one line on stderr, exit status 1, no traceback, and the
files left as they were (a refusal never rewrites or "repairs" a user's database).

The server is started as a user starts it (the ``asyncgate`` command, ``--assembly`` of the repository's
synthesized app). A full disk is a real one when the tests run as root (a 16 MB tmpfs filled to the
last block), and a file-size limit (``ulimit -f``, RLIMIT_FSIZE) on the server process otherwise; a
read-only directory is a read-only tmpfs mount as root, and a mode-0500 folder otherwise.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ASYNCGATE, REPO, free_port

DB_NAME = "asyncgate.sqlite3"
ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def assembly() -> Path:
    """The sample app's cloud assembly (synthesized if it changed)."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    done = subprocess.run([str(ASYNCGATE), "synth", str(REPO)], capture_output=True, text=True,
                          env=env, timeout=300, check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def up(assembly: Path, data_dir: Path, preexec: Callable[[], None] | None = None) -> tuple[int, str]:
    """Run ``asyncgate up`` to its end (it must refuse); returns (exit status, stderr)."""
    done = subprocess.run(
        [str(ASYNCGATE), "up", "--assembly", str(assembly), "--port", str(free_port()),
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, preexec_fn=preexec,
    )
    return done.returncode, done.stderr


def refused(status: int, stderr: str, *words: str) -> None:
    print(stderr.strip())
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert status == 1, stderr
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("asyncgate: cannot use data directory "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def a_database(path: Path, rows: int = 2000) -> None:
    """A real asyncgate-style WAL database with some data in it."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, body TEXT)")
    db.executemany("INSERT INTO kept (body) VALUES (?)", [(f"webhook {i} " * 20,) for i in range(rows)])
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_data_dir_is_refused(assembly: Path, tmp_path: Path) -> None:
    if ROOT:  # root writes through file modes: make it a read-only mount holding a database
        with tmpfs(tmp_path / "ro", "16m") as data:
            a_database(data / DB_NAME)
            before = (data / DB_NAME).read_bytes()
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
            status, stderr = up(assembly, data)
            assert (data / DB_NAME).read_bytes() == before
    else:
        data = tmp_path / "ro"
        data.mkdir()
        a_database(data / DB_NAME)
        before = (data / DB_NAME).read_bytes()
        data.chmod(0o500)
        try:
            status, stderr = up(assembly, data)
        finally:
            data.chmod(0o700)
        assert (data / DB_NAME).read_bytes() == before
    refused(status, stderr, "read-only file system" if ROOT else "not writable")


def test_a_data_dir_that_cannot_be_created_is_refused(assembly: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, stderr = up(assembly, blocker / "data")
    refused(status, stderr, "Not a directory")


def test_a_file_size_limit_below_what_the_database_needs_is_refused(assembly: Path, tmp_path: Path) -> None:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    status, stderr = up(assembly, tmp_path / "data", preexec=limit)
    refused(status, stderr, "ulimit -f")


def test_a_full_disk_is_refused(assembly: Path, tmp_path: Path) -> None:
    if not ROOT:  # no mount without root: a file-size limit the existing database already reaches
        data = tmp_path / "data"
        data.mkdir()
        a_database(data / DB_NAME, rows=20_000)
        size = (data / DB_NAME).stat().st_size

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

        before = (data / DB_NAME).read_bytes()
        status, stderr = up(assembly, data, preexec=limit)
        assert (data / DB_NAME).read_bytes() == before
        refused(status, stderr)
        return
    with tmpfs(tmp_path / "full", "16m") as data:
        a_database(data / DB_NAME)
        before = (data / DB_NAME).read_bytes()
        with (data / "filler").open("wb") as filler, contextlib.suppress(OSError):
            while True:  # to the last block
                filler.write(b"\0" * 65536)
                filler.flush()
        status, stderr = up(assembly, data)
        assert (data / DB_NAME).read_bytes() == before
    refused(status, stderr, "no room")


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(assembly: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    junk = b"this is not a database\n" * 1000
    (data / DB_NAME).write_bytes(junk)
    status, stderr = up(assembly, data)
    refused(status, stderr, "file is not a database")
    assert (data / DB_NAME).read_bytes() == junk


def test_a_database_with_a_corrupt_page_is_refused_and_left_alone(assembly: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / DB_NAME
    a_database(path)
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[3 * page : 3 * page + 64] = b"\xff" * 64  # a b-tree page's header, past the file header
    path.write_bytes(bytes(raw))
    status, stderr = up(assembly, data)
    refused(status, stderr)
    assert "corrupt" in stderr or "malformed" in stderr, stderr
    assert path.read_bytes() == bytes(raw)
