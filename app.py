"""The sample app: the seed's system in one stack, checked against cdk-nag's AwsSolutions rules.

Deploy with ``npx aws-cdk deploy`` (after ``npx aws-cdk bootstrap`` in the account, for the Lambda
asset); ``cdk.json`` runs this file with ``.venv/bin/python``. ``asyncgate synth`` runs it the same
way as the CLI and writes the same assembly into ``./cdk.out``.

``python app.py`` works too, for a quick look: ``cdk.App`` would write to a temporary folder deleted at
exit unless told where (the CLI tells it with ``CDK_OUTDIR``), so it defaults to ``./cdk.out``; and a
bare run gets no context from ``cdk.json``, so the app reads the feature flags itself (the CLI's
``CDK_CONTEXT_JSON`` still wins). What a bare run lacks is the metadata the CLI asks for (construct
paths, version reporting), which also changes the logical id of the API's deployment.
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
