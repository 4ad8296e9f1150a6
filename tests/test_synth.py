"""``asyncgate.synth.synthesize``: runs a CDK app as the CLI does, and only when the app changed.

One real synth of the repository's app; the rest uses a stand-in app (a script that writes a
manifest and records how it was run), which exercises the same subprocess path in milliseconds.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from asyncgate.synth import STAMP_NAME, SynthError, synthesize

REPO = Path(__file__).resolve().parent.parent

#: Records its environment and each run in the output folder, then writes a minimal manifest.
STAND_IN_APP = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path

    out = Path(os.environ["CDK_OUTDIR"])
    out.mkdir(parents=True, exist_ok=True)
    keys = ("CDK_CONTEXT_JSON", "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION")
    seen = {key: os.environ.get(key) for key in keys}
    seen["python"] = sys.executable
    (out / "seen.json").write_text(json.dumps(seen))
    with open(out / "runs.log", "a") as runs:
        runs.write("run\\n")
    (out / "manifest.json").write_text('{"version": "36.0.0"}')
    """
)


@pytest.fixture(scope="module")
def repo_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize(REPO, output=tmp_path_factory.mktemp("repo") / "cdk.out")


def stand_in(tmp_path: Path, *, script: str = STAND_IN_APP, **cdk_json: Any) -> Path:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(script)
    (app_dir / "cdk.json").write_text(json.dumps({"app": "python3 app.py", **cdk_json}))
    return app_dir


def runs(out: Path) -> int:
    return len((out / "runs.log").read_text().splitlines())


def test_repo_app_synthesizes_its_stack(repo_assembly: Path) -> None:
    manifest = json.loads((repo_assembly / "manifest.json").read_text())
    assert manifest["artifacts"]["AsyncGateSample"]["type"] == "aws:cloudformation:stack"
    template = json.loads((repo_assembly / "AsyncGateSample.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {"AWS::ApiGateway::RestApi", "AWS::StepFunctions::StateMachine", "AWS::Lambda::Function"} <= types
    # the CLI's context reached the app: construct paths are in the template's metadata
    assert all("aws:cdk:path" in r.get("Metadata", {}) for r in template["Resources"].values())


def test_repo_app_unchanged_is_not_synthesized_again(repo_assembly: Path) -> None:
    manifest = repo_assembly / "manifest.json"
    before = manifest.stat().st_mtime_ns
    assert synthesize(REPO, output=repo_assembly) == repo_assembly
    assert manifest.stat().st_mtime_ns == before


def test_default_output_is_cdk_out_in_the_app(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path)
    assert synthesize(app_dir) == app_dir / "cdk.out"
    assert (app_dir / "cdk.out" / STAMP_NAME).is_file()


def test_app_runs_with_the_cli_environment(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path, context={"answer": 42, "shadowed": "cdk.json"})
    (app_dir / "cdk.context.json").write_text(json.dumps({"shadowed": "cdk.context.json", "cached": 1}))
    seen = json.loads((synthesize(app_dir) / "seen.json").read_text())
    assert seen["CDK_DEFAULT_ACCOUNT"] == "000000000000"
    assert seen["CDK_DEFAULT_REGION"] == "us-east-1"
    assert Path(seen["python"]).parent == Path(sys.executable).parent
    context = json.loads(seen["CDK_CONTEXT_JSON"])
    assert context["answer"] == 42
    assert context["shadowed"] == "cdk.json"
    assert context["cached"] == 1
    assert context["aws:cdk:enable-path-metadata"] is True
    assert context["aws:cdk:bundling-stacks"] == ["**"]


def test_unchanged_app_is_not_run_again(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path)
    out = synthesize(app_dir)
    assert synthesize(app_dir) == out
    assert runs(out) == 1


def test_changed_or_forced_app_runs_again(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path)
    out = synthesize(app_dir)
    (app_dir / "stack.py").write_text("# a new source file\n")
    synthesize(app_dir)
    assert runs(out) == 2
    synthesize(app_dir, force=True)
    assert runs(out) == 3


def test_assembly_rewritten_by_other_means_is_synthesized_again(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path)
    out = synthesize(app_dir)
    manifest = out / "manifest.json"
    later = manifest.stat().st_mtime_ns + 1_000_000_000
    os.utime(manifest, ns=(later, later))  # as a bare `python app.py` writing into cdk.out would
    synthesize(app_dir)
    assert runs(out) == 2


def test_files_outside_watch_do_not_trigger(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path, watch={"include": ["**"], "exclude": ["notes/**", "**/*.md"]})
    out = synthesize(app_dir)
    (app_dir / "notes").mkdir()
    (app_dir / "notes" / "todo.txt").write_text("later")
    (app_dir / "README.md").write_text("# app")
    (app_dir / ".asyncgate").mkdir()
    (app_dir / ".asyncgate" / "state.db").write_text("server state")
    synthesize(app_dir)
    assert runs(out) == 1


def test_failing_app_raises_with_its_stderr(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path, script="raise RuntimeError('the app is broken')\n")
    with pytest.raises(SynthError, match="exited with status 1") as raised:
        synthesize(app_dir)
    assert "RuntimeError: the app is broken" in raised.value.stderr
    assert raised.value.returncode == 1
    assert "the app is broken" in str(raised.value)


def test_app_without_manifest_raises(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path, script="print('forgot app.synth()')\n")
    with pytest.raises(SynthError, match=r"wrote no .*manifest\.json"):
        synthesize(app_dir)


def test_stale_manifest_is_not_taken_for_a_new_one(tmp_path: Path) -> None:
    app_dir = stand_in(tmp_path)
    synthesize(app_dir)
    (app_dir / "app.py").write_text("print('forgot app.synth()')\n")
    with pytest.raises(SynthError, match="wrote no"):
        synthesize(app_dir)


def test_missing_cdk_json_raises(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match=r"has no cdk\.json"):
        synthesize(tmp_path)


def test_cdk_json_without_app_raises(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(json.dumps({"context": {}}))
    with pytest.raises(SynthError, match='has no "app" command'):
        synthesize(tmp_path)


def test_environment_is_left_alone(tmp_path: Path) -> None:
    before = dict(os.environ)
    synthesize(stand_in(tmp_path))
    assert dict(os.environ) == before
