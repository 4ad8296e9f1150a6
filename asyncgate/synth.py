"""Synthesize a CDK app into a cloud assembly the way the CDK CLI does, without the CLI.

``asyncgate up`` serves what ``cdk synth`` would produce. The CLI is a Node package that needs npm;
what it does to synthesize is small, so we do it here: run the ``app`` command of ``cdk.json`` in the
app's folder with the environment the CLI sets:

- ``CDK_OUTDIR``: where the app writes the assembly (``<app_dir>/cdk.out`` by default);
- ``CDK_CONTEXT_JSON``: ``cdk.context.json``, overridden by ``cdk.json``'s ``context``, plus the
  keys the CLI adds (path and asset metadata, version reporting, bundle every stack);
- ``CDK_DEFAULT_ACCOUNT`` / ``CDK_DEFAULT_REGION``: the local account ``000000000000`` and
  ``us-east-1``, so environment-agnostic stacks resolve as they do locally;
- ``PATH`` starting with this interpreter's ``bin``, so ``python``/``python3`` in the command is the
  interpreter that has aws-cdk-lib installed.

User-level settings (``~/.cdk.json``) are not read, so the result does not depend on who runs it.

Synthesis takes seconds, so it is skipped when nothing it depends on changed: a fingerprint of the
app's files (those ``cdk.json``'s ``watch`` covers, see ``_watched_files``), ``cdk.json`` itself, the
interpreter and the aws-cdk-lib version is kept in ``<output>/.asyncgate-synth.json``, with the
manifest's modification time, so an assembly rewritten by other means is synthesized again.
Two synths of one app at the same time are not coordinated; the last to finish wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["STAMP_NAME", "SynthError", "synthesize"]

#: The file in the output folder that records what the assembly was synthesized from.
STAMP_NAME = ".asyncgate-synth.json"

LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "us-east-1"

#: Never part of an app's sources (the CDK CLI's watch ignores them too).
_ALWAYS_EXCLUDED = {"cdk.out", "node_modules", "__pycache__"}


class SynthError(Exception):
    """The app could not be synthesized: no usable ``cdk.json``, or the app command failed.

    ``stderr`` holds what the app wrote to its standard error (the traceback), ``returncode`` its
    exit status (``None`` when the app never ran).
    """

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(f"{message}\n{stderr}".rstrip())
        self.stderr = stderr
        self.returncode = returncode


def synthesize(app_dir: Path, *, output: Path | None = None, force: bool = False) -> Path:
    """Synthesize the CDK app in ``app_dir`` (the folder with ``cdk.json``); return the assembly folder.

    The app runs only if its files changed since the assembly in ``output`` was made, or if ``force``.

    Example
    -------
    ```python
    from pathlib import Path
    from asyncgate.synth import synthesize

    assembly = synthesize(Path("."))            # ./cdk.out, synthesized if the app changed
    (assembly / "manifest.json").is_file()      # True
    ```

    Raises
    ------
    SynthError
        ``cdk.json`` is missing or has no ``app``; the app exits non-zero (its stderr is attached) or
        writes no ``manifest.json``.
    """
    app_dir = app_dir.resolve()
    config = _read_config(app_dir)
    out = (output or app_dir / "cdk.out").resolve()
    stamp = out / STAMP_NAME
    manifest = out / "manifest.json"
    written_before = _mtime_ns(manifest)
    # the manifest's mtime is part of the record: an assembly rewritten by other means (a bare
    # `python app.py`, `cdk synth` with other options) is not taken for ours
    fingerprint = _fingerprint(app_dir, config, out)
    if not force and written_before is not None and _recorded(stamp) == [fingerprint, written_before]:
        return out

    stamp.unlink(missing_ok=True)
    command = config["app"]
    result = subprocess.run(
        command,
        shell=True,
        cwd=app_dir,
        env=_environment(app_dir, config, out),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SynthError(
            f"`{command}` in {app_dir} exited with status {result.returncode}",
            stderr=result.stderr,
            returncode=result.returncode,
        )
    if _mtime_ns(manifest) in (None, written_before):
        raise SynthError(
            f"`{command}` in {app_dir} wrote no {manifest} (does the app call app.synth()?)",
            stderr=result.stderr,
            returncode=0,
        )
    stamp.write_text(json.dumps({"fingerprint": fingerprint, "manifest_mtime_ns": _mtime_ns(manifest)}))
    return out


def _watched_files(app_dir: Path, watch: dict[str, Any] | None, *, output: Path) -> list[Path]:
    """The files of ``app_dir`` whose change calls for a new synth, sorted.

    ``watch`` is ``cdk.json``'s ``watch`` block, as ``cdk watch`` reads it: ``include`` and
    ``exclude`` are glob patterns relative to ``app_dir`` (``fnmatch`` rules, where ``*`` also crosses
    ``/`` and a leading ``**/`` may match nothing); a pattern that matches a folder covers everything
    in it. Without ``include`` everything is included. Dot files, ``cdk.out``, ``node_modules``,
    ``__pycache__`` and ``output`` are always left out.
    """
    watch = watch or {}
    include = _patterns(watch.get("include", ["**"]))
    exclude = _patterns(watch.get("exclude", []))
    files = (path.relative_to(app_dir) for path in _walk(app_dir, output))
    return sorted(app_dir / path for path in files if _matches(path, include) and not _matches(path, exclude))


def _read_config(app_dir: Path) -> dict[str, Any]:
    path = app_dir / "cdk.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise SynthError(f"{app_dir} has no cdk.json") from None
    except (OSError, ValueError) as exc:
        raise SynthError(f"cannot read {path}: {exc}") from exc
    if not isinstance(config, dict) or not isinstance(config.get("app"), str):
        raise SynthError(f'{path} has no "app" command')
    return config


def _context(app_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The context the CLI hands the app: cdk.context.json < cdk.json < the CLI's own keys."""
    context: dict[str, Any] = {}
    cached = app_dir / "cdk.context.json"
    if cached.is_file():
        context.update(json.loads(cached.read_text()))
    context.update(config.get("context", {}))
    if config.get("pathMetadata", True):
        context["aws:cdk:enable-path-metadata"] = True
    if config.get("assetMetadata", True):
        context["aws:cdk:enable-asset-metadata"] = True
    if config.get("versionReporting", True):
        context["aws:cdk:version-reporting"] = True
    else:
        context["aws:cdk:disable-version-reporting"] = True
    context["aws:cdk:bundling-stacks"] = config.get("bundlingStacks", ["**"])
    return context


def _environment(app_dir: Path, config: dict[str, Any], out: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CDK_OUTDIR": str(out),
        "CDK_CONTEXT_JSON": json.dumps(_context(app_dir, config)),
        "CDK_DEFAULT_ACCOUNT": LOCAL_ACCOUNT,
        "CDK_DEFAULT_REGION": LOCAL_REGION,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": os.environ.get(
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"
        ),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }


def _fingerprint(app_dir: Path, config: dict[str, Any], out: Path) -> str:
    digest = hashlib.sha256()
    try:
        cdk_version = metadata.version("aws-cdk-lib")
    except metadata.PackageNotFoundError:
        cdk_version = ""
    digest.update(json.dumps([sys.executable, cdk_version, config], sort_keys=True).encode())
    for path in _watched_files(app_dir, config.get("watch"), output=out):
        digest.update(str(path.relative_to(app_dir)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _recorded(stamp: Path) -> list[Any] | None:
    try:
        record = json.loads(stamp.read_text())
        return [record["fingerprint"], record["manifest_mtime_ns"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _walk(root: Path, skip_dir: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = [
            d for d in dirs if not d.startswith(".") and d not in _ALWAYS_EXCLUDED and here / d != skip_dir
        ]
        yield from (here / f for f in files if not f.startswith("."))


def _patterns(value: str | Sequence[str]) -> list[str]:
    patterns = [value] if isinstance(value, str) else list(value)
    return patterns + [p.removeprefix("**/") for p in patterns if p.startswith("**/")]


def _matches(relative: Path, patterns: Sequence[str]) -> bool:
    """Whether the path, or one of the folders it is in, matches one of ``patterns``."""
    posix = PurePosixPath(relative.as_posix())
    candidates = [str(posix), *(str(parent) for parent in posix.parents if str(parent) != ".")]
    return any(fnmatchcase(candidate, pattern) for candidate in candidates for pattern in patterns)
