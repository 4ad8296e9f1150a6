"""The seed's workflow end to end on the engine: the definition CDK synthesizes (LambdaInvoke with
``OutputPath: $.Payload`` and CDK's default retry, then a Pass), the real processor handler on the
real local Lambda runtime, and the history AWS records for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from asyncgate.local.lambdas import FunctionConfig, LambdaService, function_arn
from asyncgate.local.states.clock import SystemClock
from asyncgate.local.states.engine import Succeeded
from asyncgate.local.states.tasks import LambdaTasks
from tests.states.engine_harness import run_definition

REPO = Path(__file__).resolve().parents[2]
PROCESSOR = REPO / "asyncgate" / "functions" / "processor"

#: the DefinitionString of the sample stack (cdk.out/AsyncGateSample.template.json), resolved
SEED = {
    "StartAt": "OneFuncInvoke",
    "States": {
        "OneFuncInvoke": {
            "Next": "SuccessState",
            "Retry": [
                {
                    "ErrorEquals": [
                        "Lambda.ClientExecutionTimeoutException",
                        "Lambda.ServiceException",
                        "Lambda.AWSLambdaException",
                        "Lambda.SdkClientException",
                    ],
                    "IntervalSeconds": 2,
                    "MaxAttempts": 6,
                    "BackoffRate": 2,
                }
            ],
            "Type": "Task",
            "Comment": "For the demo",
            "OutputPath": "$.Payload",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:sample-func",
                "Payload.$": "$",
            },
        },
        "SuccessState": {"Type": "Pass", "End": True},
    },
}


class _NoLogs:
    def put(self, group: str, stream: str, events: Any) -> None:
        pass


def test_seed_definition_matches_the_synthesized_one(tmp_path: Path) -> None:
    from asyncgate.local.assembly import load_assembly

    out = REPO / "cdk.out"
    if not (out / "manifest.json").exists():  # a fresh clone: synthesize the sample app (cdk.out is ignored)
        env = dict(
            os.environ,
            CDK_OUTDIR=str(tmp_path / "cdk.out"),
            JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        )
        subprocess.run([sys.executable, "app.py"], cwd=REPO, env=env, check=True, timeout=240)
        out = tmp_path / "cdk.out"
    machines = [
        r
        for stack in load_assembly(out).stacks
        for r in stack.resources.values()
        if r.type == "AWS::StepFunctions::StateMachine"
    ]
    assert len(machines) == 1
    synthesized = json.loads(machines[0].properties["DefinitionString"])
    assert synthesized == SEED


def test_seed_runs_on_the_real_lambda_runtime(tmp_path: Path) -> None:
    async def main() -> Any:
        service = LambdaService(_NoLogs(), data_dir=tmp_path)
        service.register(
            FunctionConfig(
                "sample-func", function_arn("sample-func"), "handler.handler", "python3.12", PROCESSOR
            )
        )
        try:
            return await run_definition(
                SEED, {"body": "hello"}, tasks=LambdaTasks(service), clock=SystemClock()
            )
        finally:
            await service.close()

    outcome, events = asyncio.run(main())
    assert outcome == Succeeded(None)  # the processor returns nothing: Payload null, OutputPath $.Payload
    assert events.types == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "PassStateEntered",
        "PassStateExited",
    ]
    scheduled = events.items[1][2]
    assert json.loads(scheduled["parameters"]) == {
        "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:sample-func",
        "Payload": {"body": "hello"},
    }
    succeeded = json.loads(events.items[3][2]["output"])
    assert succeeded["Payload"] is None and succeeded["StatusCode"] == 200
    assert events.items[4][2]["output"] == "null"
