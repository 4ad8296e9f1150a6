"""Install AWS CLI v2 into the project venv as ``aws2``, without root, apt lists or dpkg.

PyPI's ``awscli`` is v1 (``make install`` puts it in the venv as ``aws``); v1 has no ``aws logs
tail``. v2 is not on PyPI, but Debian bookworm packages it (``awscli`` 2.9.19-1, pure Python, with
its own botocore vendored as ``awscli.botocore``). This script

1. downloads that one pinned ``.deb`` straight from Debian's pool and checks its sha256,
2. reads it without dpkg (a ``.deb`` is an ``ar`` archive holding ``data.tar.xz``) and copies
   ``usr/lib/python3/dist-packages/awscli*`` into ``VENV/awscli2/``,
3. installs the dependencies that awscli 2.9.19 declares (its METADATA ranges, pinned here) from
   PyPI with pip into the same folder, so nothing in the venv's site-packages is changed,
4. writes ``VENV/bin/aws2``: the venv's python started with ``-S`` (no site-packages, so awscli v1,
   its botocore and the venv's urllib3 2 are never seen) and ``VENV/awscli2`` first on ``sys.path``.

Idempotent and quiet: a fingerprint of the pins and the interpreter is kept in
``VENV/awscli2/.installed``; when it matches and the launcher exists, nothing is done. A new build
goes to a temporary folder that replaces the old one only once complete. Output (pip's included)
is shown only when something fails.

Usage: ``python tools/awscli2.py [VENV]`` (default: ``.venv`` beside ``tools/``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

DEB_URL = "http://deb.debian.org/debian/pool/main/a/awscli/awscli_2.9.19-1_all.deb"
DEB_SHA256 = "def31284c1d8dab046504272f9f810ad17ef33cd5677984d9a1712a1e499b3af"
DIST_PACKAGES = "usr/lib/python3/dist-packages/"

#: awscli 2.9.19's Requires-Dist, each pinned inside its range (awscrt at Debian's 0.16.8), plus
#: their own requirements (cryptography: cffi, pycparser; ruamel.yaml: its C loader;
#: prompt_toolkit: wcwidth; dateutil: six). Installed with --no-deps: this list is the whole set.
WHEELS = (
    "awscrt==0.16.8",
    "colorama==0.4.6",
    "docutils==0.19",
    "cryptography==38.0.4",
    "cffi==1.15.1",
    "pycparser==2.21",
    "ruamel.yaml==0.17.21",
    "ruamel.yaml.clib==0.2.7",
    "prompt-toolkit==3.0.28",
    "wcwidth==0.2.5",
    "distro==1.5.0",
    "python-dateutil==2.8.2",
    "six==1.16.0",
    "jmespath==1.0.1",
    "urllib3==1.26.12",
)

LAUNCHER = '''#!{python} -S
# AWS CLI v2 (Debian's awscli 2.9.19-1), installed by tools/awscli2.py; see that file.
# -S: the venv's site-packages (awscli v1 and its botocore) stay out of sys.path.
import os
import sys

if os.environ.get("LC_CTYPE", "") == "UTF-8":
    os.environ["LC_CTYPE"] = "en_US.UTF-8"
sys.path[0] = {target!r}
import awscli.clidriver  # noqa: E402

sys.exit(awscli.clidriver.main())
'''


def fingerprint() -> str:
    doc = {"deb": DEB_SHA256, "wheels": WHEELS, "python": list(sys.version_info[:2]), "launcher": LAUNCHER}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def download(url: str, sha256: str) -> bytes:
    """The file at ``url``, checked against ``sha256``; three tries."""
    for attempt in range(3):
        try:
            with urllib.request.urlopen(url, timeout=120) as resp:
                data: bytes = resp.read()
            break
        except OSError as exc:
            if attempt == 2:
                raise SystemExit(f"awscli2: cannot download {url}: {exc}") from exc
            time.sleep(2 * (attempt + 1))
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"awscli2: {url} has sha256 {digest}, expected {sha256}")
    return data


def ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ``ar`` archive (the format of a ``.deb``)."""
    if not data.startswith(b"!<arch>\n"):
        raise SystemExit("awscli2: not an ar archive")
    members: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        if header[58:60] != b"`\n":
            raise SystemExit(f"awscli2: bad ar header at byte {pos}")
        name = header[0:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size & 1)
    return members


def extract_python_packages(deb: bytes, target: Path) -> None:
    """Copy the deb's ``usr/lib/python3/dist-packages`` tree into ``target``."""
    members = ar_members(deb)
    data_name = next((n for n in members if n.startswith("data.tar")), None)
    if data_name is None:
        raise SystemExit(f"awscli2: no data.tar.* in the deb (members: {sorted(members)})")
    with tarfile.open(fileobj=io.BytesIO(members[data_name]), mode="r:*") as tar:
        wanted = []
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if name.startswith(DIST_PACKAGES) and name != DIST_PACKAGES:
                member.name = name[len(DIST_PACKAGES) :]
                wanted.append(member)
        if not any(m.name == "awscli/clidriver.py" for m in wanted):
            raise SystemExit("awscli2: the deb holds no awscli/clidriver.py")
        tar.extractall(target, members=wanted, filter="data")


def install_wheels(python: Path, target: Path) -> None:
    command = [
        str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary", ":all:", "--target", str(target), *WHEELS,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"awscli2: pip failed ({done.returncode}): {' '.join(command)}")


def main(argv: list[str]) -> int:
    venv = Path(os.path.abspath(argv[0] if argv else Path(__file__).resolve().parent.parent / ".venv"))
    python = venv / "bin" / "python"
    target = venv / "awscli2"
    launcher = venv / "bin" / "aws2"
    stamp = target / ".installed"
    want = fingerprint()
    if launcher.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return 0
    building = venv / "awscli2.tmp"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    extract_python_packages(download(DEB_URL, DEB_SHA256), building)
    install_wheels(python, building)
    shutil.rmtree(building / "bin", ignore_errors=True)  # the wheels' scripts; aws2 is the one entry
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    launcher.write_text(LAUNCHER.format(python=python, target=str(target)))
    launcher.chmod(0o755)
    check = subprocess.run([str(launcher), "--version"], capture_output=True, text=True)
    if check.returncode != 0 or not check.stdout.startswith("aws-cli/2."):
        sys.stderr.write(check.stdout + check.stderr)
        raise SystemExit(f"awscli2: {launcher} --version failed ({check.returncode})")
    stamp.write_text(want + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
