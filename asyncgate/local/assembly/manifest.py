"""Reading a cloud assembly's files: the manifest, nested assemblies, templates and asset manifests.

Every path followed must stay inside ``cdk.out``: a manifest is input, and an asset path that
escapes (``..``, absolute, a symlink) is refused with ``AssetPathError``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncgate.local.assembly.model import AssemblyError, AssetPathError

__all__ = ["StackSource", "cdk_paths", "read_assets", "read_json", "read_manifest"]

# -- reading the manifest ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StackSource:
    """Where one stack artifact's files are (all inside the assembly root)."""

    name: str
    directory: Path
    template: Path
    assets_file: Path | None
    metadata_file: Path | None
    inline_metadata: dict[str, Any]


def inside(root: Path, base: Path, relative: str, what: str) -> Path:
    """``base / relative``, resolved, refusing anything that leaves ``root`` (``..``, absolute, symlinks)."""
    path = (base / relative).resolve()
    if not path.is_relative_to(root):
        raise AssetPathError(
            f"{what} path {relative!r} resolves to {path}, outside the cloud assembly {root}; refusing to "
            "read it (was the assembly synthesized with asset staging disabled, or tampered with?)"
        )
    return path


def read_json(path: Path) -> Any:
    try:
        with path.open("rb") as f:
            return json.load(f)
    except FileNotFoundError as exc:
        raise AssemblyError(f"{path} is missing; is this a complete `cdk synth` output?") from exc
    except json.JSONDecodeError as exc:
        raise AssemblyError(f"{path} is not valid JSON: {exc}") from exc


def read_manifest(root: Path, directory: Path, depth: int = 0) -> Iterator[StackSource]:
    """Yield the stack artifacts of ``directory/manifest.json``, nested assemblies in place."""
    if depth > 16:
        raise AssemblyError(f"{directory}: nested assemblies more than 16 deep")
    if not (directory / "manifest.json").is_file():
        raise AssemblyError(f"{directory} has no manifest.json; is it a cdk.out directory? (run `cdk synth`)")
    artifacts: dict[str, Any] = read_json(directory / "manifest.json").get("artifacts", {})
    for artifact_id, artifact in artifacts.items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            nested = inside(root, directory, props["directoryName"], "nested assembly")
            yield from read_manifest(root, nested, depth + 1)
        elif kind == "aws:cloudformation:stack":
            yield stack_source(root, directory, artifact_id, artifact, artifacts)


def stack_source(
    root: Path, directory: Path, artifact_id: str, artifact: dict[str, Any], artifacts: dict[str, Any]
) -> StackSource:
    props = artifact.get("properties", {})
    assets_file: Path | None = None
    for dep in artifact.get("dependencies", []):
        dep_artifact = artifacts.get(dep, {})
        if dep_artifact.get("type") == "cdk:asset-manifest":
            assets_file = inside(root, directory, dep_artifact["properties"]["file"], "asset manifest")
    metadata = artifact.get("additionalMetadataFile")
    return StackSource(
        name=props.get("stackName", artifact_id),
        directory=directory,
        template=inside(root, directory, props["templateFile"], "template"),
        assets_file=assets_file,
        metadata_file=inside(root, directory, metadata, "metadata") if metadata else None,
        inline_metadata=artifact.get("metadata", {}),
    )


def read_assets(root: Path, source: StackSource) -> dict[str, Path]:
    """Asset hash (and object key without ``.zip``) -> folder or file, from ``<stack>.assets.json``."""
    if source.assets_file is None or not source.assets_file.is_file():
        return {}
    assets: dict[str, Path] = {}
    for asset_hash, asset in read_json(source.assets_file).get("files", {}).items():
        src = asset.get("source", {})
        if "path" not in src:  # built by an executable: nothing on disk to serve
            continue
        path = inside(root, source.assets_file.parent, src["path"], f"asset {asset_hash}")
        if not path.exists():
            raise AssemblyError(f"asset {asset_hash} of stack {source.name}: {path} does not exist")
        assets[asset_hash] = path
        for dest in asset.get("destinations", {}).values():
            key = str(dest.get("objectKey", ""))
            if key.endswith(".zip"):
                assets.setdefault(key[: -len(".zip")], path)
    return assets


def cdk_paths(source: StackSource) -> dict[str, str]:
    """logical id -> construct path, from the metadata the CDK writes beside the template."""
    entries = dict(source.inline_metadata)
    if source.metadata_file is not None and source.metadata_file.is_file():
        entries.update(read_json(source.metadata_file))
    paths: dict[str, str] = {}
    for path, items in entries.items():
        for item in items:
            if item.get("type") == "aws:cdk:logicalId":
                paths[str(item.get("data"))] = path.lstrip("/")
    return paths

