"""The sample app: the seed's system in one stack, checked against cdk-nag's AwsSolutions rules.

``npx aws-cdk deploy`` runs it through ``cdk.json``; ``python app.py`` alone synthesizes the same
templates into ``./cdk.out``. Two things make that true: ``cdk.App`` writes to a temporary folder
deleted at exit unless told where (the CLI says so with ``CDK_OUTDIR``), and only the CLI passes
``cdk.json``'s context, so the app reads it itself (the CLI's ``CDK_CONTEXT_JSON`` still wins).
"""

import json
import os
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from asyncgate.cdk import AsyncGateSampleStack

HERE = Path(__file__).resolve().parent


def main() -> None:
    context = json.loads((HERE / "cdk.json").read_text())["context"]
    app = cdk.App(outdir=os.environ.get("CDK_OUTDIR", str(HERE / "cdk.out")), context=context)
    AsyncGateSampleStack(app, "AsyncGateSample")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
