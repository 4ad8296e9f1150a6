"""Synthesized CDK apps shared by the construct tests.

Each app is synthesized once per session, for real (jsii, aws-cdk-lib, cdk-nag), since one synth
costs seconds. ``sample`` is the repository's sample app as ``app.py`` builds it, with ``cdk.json``'s
context and the AwsSolutions checks; ``options`` holds one stack per option of ``AsyncWorkflowApi``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

# before aws_cdk starts its jsii runtime, which prints a banner on Node 20
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from asyncgate.cdk import AsyncGateSampleStack, AsyncResponse, AsyncWorkflowApi, StartMode
from tests.cdk.synthesized import OWN_DEFINITION, Synthesized

REPO = Path(__file__).resolve().parents[2]
CDK_CONTEXT = json.loads((REPO / "cdk.json").read_text())["context"]


def _synth(app: cdk.App, *stacks: cdk.Stack) -> dict[str, Synthesized]:
    assembly = app.synth()
    out: dict[str, Synthesized] = {}
    for stack in stacks:
        artifact = assembly.get_stack_by_name(stack.stack_name)
        out[stack.stack_name] = Synthesized(
            template=Template.from_json(artifact.template),
            template_file=Path(assembly.directory) / artifact.template_file,
            assembly_dir=Path(assembly.directory),
        )
    return out


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The sample app as ``app.py`` builds it, with the AwsSolutions checks on."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("sample")), context=CDK_CONTEXT)
    stack = AsyncGateSampleStack(app, "AsyncGateSample")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return _synth(app, stack)["AsyncGateSample"]


@pytest.fixture(scope="session")
def options(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """One stack per option of ``AsyncWorkflowApi``, by name, synthesized together."""
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("options")), context=CDK_CONTEXT)
    variants: dict[str, Callable[[cdk.Stack], object]] = {
        "Standard": lambda s: AsyncWorkflowApi(s, "P", state_machine_type=sfn.StateMachineType.STANDARD),
        "Sync": lambda s: AsyncWorkflowApi(s, "P", mode=StartMode.SYNC),
        "ExecutionArn": lambda s: AsyncWorkflowApi(s, "P", async_response=AsyncResponse.EXECUTION_ARN),
        "OwnDefinition": lambda s: AsyncWorkflowApi(
            s, "P", definition_body=sfn.DefinitionBody.from_string(json.dumps(OWN_DEFINITION))
        ),
        "OwnHandler": lambda s: AsyncWorkflowApi(
            s,
            "P",
            handler=lambda_.Function.from_function_arn(
                s, "Mine", "arn:aws:lambda:us-east-1:000000000000:function:mine"
            ),
        ),
    }
    stacks = []
    for name, build in variants.items():
        stack = cdk.Stack(app, name)
        build(stack)
        stacks.append(stack)
    return _synth(app, *stacks)
