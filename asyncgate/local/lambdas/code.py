"""Function code for API-created functions: a ZipFile unpacked under the data dir, or a local folder.

``Code.ZipFile`` (base64 on the wire, as boto3 sends it) is unpacked into
``<data_dir>/lambda/<name>/<sha256 prefix>/`` — safely: absolute paths and ``..`` members are refused
like Lambda refuses a corrupt archive. The folder survives restarts with the function's record.

Local extension (no S3 here): ``Code: {"S3Bucket": "hot-reload", "S3Key": "/abs/path/to/folder"}`` uses
the folder in place, without copying, so edits show up on the next cold start (a worker started after
the edit; DeleteFunction/CreateFunction or a server restart ends the warm ones). ``"hot-reload"`` is
LocalStack's magic bucket name for the same thing; ``"__local__"`` is accepted too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncgate.local.errors import InvalidParameterValueException

__all__ = ["LOCAL_BUCKETS", "UnpackedCode", "folder_digest", "remove_code", "unpack_code"]

LOCAL_BUCKETS = frozenset({"hot-reload", "__local__"})
#: Lambda's limit for an unzipped deployment package.
MAX_UNZIPPED_BYTES = 262_144_000
_BAD_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."


@dataclass(frozen=True, slots=True)
class UnpackedCode:
    """Where a function's code lives, with Lambda's CodeSha256 and CodeSize for it."""

    code_dir: Path
    sha256: str
    size: int
    owned: bool
    """True when the folder was made by us (deleted with the function)."""


def folder_digest(folder: Path) -> tuple[str, int]:
    """A CodeSha256-like digest of a folder's files (names and contents), and their total size.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp()); _ = (d / "a.py").write_text("x = 1")
        >>> folder_digest(d)[1]
        5
    """
    digest = hashlib.sha256()
    size = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        data = path.read_bytes()
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + data)
        size += len(data)
    return base64.b64encode(digest.digest()).decode(), size


def _zip_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
    raise InvalidParameterValueException(_BAD_ZIP)


def unpack_code(code: dict[str, Any], *, name: str, data_dir: Path) -> UnpackedCode:
    """Materialize a CreateFunction ``Code`` object; raises InvalidParameterValueException as Lambda."""
    if "ZipFile" in code:
        blob = _zip_bytes(code["ZipFile"])
        sha = hashlib.sha256(blob)
        target = data_dir / "lambda" / name / sha.hexdigest()[:16]
        if target.is_dir():  # the same package again: keep the folder warm workers may be reading
            return UnpackedCode(target, base64.b64encode(sha.digest()).decode(), len(blob), owned=True)
        try:
            archive = zipfile.ZipFile(io.BytesIO(blob))
        except zipfile.BadZipFile:
            raise InvalidParameterValueException(_BAD_ZIP) from None
        with archive:
            members = archive.infolist()
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise InvalidParameterValueException(
                    f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
                )
            for member in members:
                parts = Path(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise InvalidParameterValueException(_BAD_ZIP)
            tmp = target.with_name(target.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            archive.extractall(tmp)
            for member in members:  # keep the executable bits Lambda would keep
                mode = (member.external_attr >> 16) & 0o777
                if mode and not member.is_dir():
                    os.chmod(tmp / member.filename, mode | 0o400)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
        return UnpackedCode(target, base64.b64encode(sha.digest()).decode(), len(blob), owned=True)
    bucket = code.get("S3Bucket")
    if bucket in LOCAL_BUCKETS:
        folder = Path(str(code.get("S3Key", ""))).expanduser()
        if not folder.is_absolute() or not folder.is_dir():
            raise InvalidParameterValueException(
                f"S3Key must name an existing absolute folder for the local bucket {bucket!r}: {folder}"
            )
        folder_sha, size = folder_digest(folder)
        return UnpackedCode(folder.resolve(), folder_sha, size, owned=False)
    if bucket:
        raise InvalidParameterValueException(
            "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified "
            "bucket does not exist (the local runtime has no S3; use ZipFile, or S3Bucket 'hot-reload' "
            "with S3Key set to a local folder)"
        )
    if "ImageUri" in code:
        raise InvalidParameterValueException("The local runtime runs Zip packages only, not images.")
    raise InvalidParameterValueException("Please provide a source for function code.")


def remove_code(code_dir: Path, data_dir: Path) -> None:
    """Delete a function's unpacked code, only if it lies under ``<data_dir>/lambda``."""
    root = (data_dir / "lambda").resolve()
    try:
        code_dir.resolve().relative_to(root)
    except ValueError:
        return
    shutil.rmtree(code_dir.parent if code_dir.parent != root else code_dir, ignore_errors=True)
