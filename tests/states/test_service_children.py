"""Nested executions through ``arn:aws:states:::states:startExecution`` (fire and forget), ``.sync``
and ``.sync:2``: the child's DescribeExecution as the Java SDK serialises it (PascalCase, epoch
milliseconds; ``Output`` a string for ``.sync`` and JSON for ``.sync:2``), a failed child as
``States.TaskFailed``, a refused start as ``StepFunctions.<Code>Exception``, and a stopped parent
stopping its child (Step Functions developer guide, "Start workflow executions from a task state").
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from asyncgate.local.states.service import StatesService
from tests.states.test_service_engine import ROLE, machine, run, wait_done

CHILD = machine(
    {
        "Double": {
            "Type": "Pass",
            "Parameters": {
                "n.$": "States.MathAdd($.n, $.n)",
                "by.$": "$.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID",
            },
            "End": True,
        }
    },
    "Double",
)
FAILING = machine({"No": {"Type": "Fail", "Error": "Child.Error", "Cause": "child says no"}}, "No")
SLOW = machine({"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}, "Hold")


def nesting(resource: str, child: str, **extra: Any) -> str:
    return machine(
        {
            "Call": {
                "Type": "Task",
                "Resource": f"arn:aws:states:::states:{resource}",
                "Parameters": {
                    "StateMachineArn": child,
                    "Input": {"n": 21, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"},
                    **extra,
                },
                "End": True,
            }
        },
        "Call",
    )


async def outcome(svc: StatesService, resource: str, child_definition: str, **extra: Any) -> dict[str, Any]:
    child = (
        await svc.create_state_machine({"name": "child", "definition": child_definition, "roleArn": ROLE})
    )["stateMachineArn"]
    parent = (
        await svc.create_state_machine(
            {"name": "parent", "definition": nesting(resource, child, **extra), "roleArn": ROLE}
        )
    )["stateMachineArn"]
    arn = (await svc.start_execution({"stateMachineArn": parent}))["executionArn"]
    return await wait_done(svc, arn)


def test_sync_returns_the_child_description_with_output_as_a_string(tmp_path: Path) -> None:
    described = run(tmp_path, lambda svc: outcome(svc, "startExecution.sync", CHILD))
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])
    assert set(result) == {
        "ExecutionArn",
        "Input",
        "InputDetails",
        "Name",
        "Output",
        "OutputDetails",
        "RedriveCount",
        "RedriveStatus",
        "StartDate",
        "StateMachineArn",
        "Status",
        "StopDate",
    }
    assert result["Status"] == "SUCCEEDED" and result["InputDetails"] == {"Included": True}
    assert isinstance(result["StartDate"], int) and result["StopDate"] >= result["StartDate"]
    child_output = json.loads(result["Output"])
    assert child_output["n"] == 42
    assert child_output["by"] == described["executionArn"]  # the parent's id travels in the input


def test_sync_2_parses_the_output(tmp_path: Path) -> None:
    described = run(tmp_path, lambda svc: outcome(svc, "startExecution.sync:2", CHILD))
    assert json.loads(described["output"])["Output"]["n"] == 42


def test_fire_and_forget_returns_the_start_answer(tmp_path: Path) -> None:
    described = run(tmp_path, lambda svc: outcome(svc, "startExecution", SLOW, Name="kid"))
    result = json.loads(described["output"])
    assert result["ExecutionArn"].endswith(":execution:child:kid")
    assert result["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert isinstance(result["StartDate"], int)


def test_a_failed_child_fails_the_task_with_states_task_failed(tmp_path: Path) -> None:
    described = run(tmp_path, lambda svc: outcome(svc, "startExecution.sync", FAILING))
    assert (described["status"], described["error"]) == ("FAILED", "States.TaskFailed")
    cause = json.loads(described["cause"])
    assert (cause["Status"], cause["Error"], cause["Cause"]) == ("FAILED", "Child.Error", "child says no")


def test_a_refused_start_is_a_step_functions_exception(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> dict[str, Any]:
        missing = "arn:aws:states:us-east-1:000000000000:stateMachine:nowhere"
        parent = await svc.create_state_machine(
            {"name": "parent", "roleArn": ROLE, "definition": nesting("startExecution.sync", missing)}
        )
        return await wait_done(
            svc, (await svc.start_execution({"stateMachineArn": parent["stateMachineArn"]}))["executionArn"]
        )

    described = run(tmp_path, scenario)
    assert described["error"] == "StepFunctions.StateMachineDoesNotExistException"
    assert "State Machine Does Not Exist" in described["cause"]
    assert "Error Code: StateMachineDoesNotExist" in described["cause"]


def test_stopping_the_parent_stops_its_sync_child(tmp_path: Path) -> None:
    async def scenario(svc: StatesService) -> tuple[str, str]:
        child = (await svc.create_state_machine({"name": "child", "definition": SLOW, "roleArn": ROLE}))[
            "stateMachineArn"
        ]
        parent = await svc.create_state_machine(
            {
                "name": "parent",
                "roleArn": ROLE,
                "definition": nesting("startExecution.sync", child, Name="kid"),
            }
        )
        arn = (await svc.start_execution({"stateMachineArn": parent["stateMachineArn"]}))["executionArn"]
        kid = child.replace(":stateMachine:", ":execution:") + ":kid"
        for _ in range(100):
            await asyncio.sleep(0.005)
            if (await svc.list_executions({"stateMachineArn": child}))["executions"]:
                break
        await svc.stop_execution({"executionArn": arn})
        return (await wait_done(svc, arn))["status"], (await wait_done(svc, kid))["status"]

    assert run(tmp_path, scenario) == ("ABORTED", "ABORTED")
