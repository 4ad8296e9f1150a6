"""Nested workflows: ``arn:aws:states:::states:startExecution`` and its ``.sync``, ``.sync:2`` and
``.waitForTaskToken`` forms, as a ``TaskInvoker`` in front of the engine's other invokers.

Why a wrapper: a child execution is started through the same ``StatesService`` a client calls
(validation, idempotent names, durability, vended logs), so this module only translates. Resources it
does not know go to the wrapped invoker unchanged.

What the Task gets back, as AWS's Java SDK serialises it (PascalCase, dates in epoch milliseconds):

- ``states:startExecution`` (fire and forget) and ``.waitForTaskToken`` (the start's answer is what
  TaskSubmitted records): ``{ExecutionArn, SdkHttpMetadata, SdkResponseMetadata, StartDate}``.
- ``.sync``: the child's DescribeExecution when it ends — ``{ExecutionArn, Input, InputDetails, Name,
  Output, OutputDetails, RedriveCount, RedriveStatus, StartDate, StateMachineArn, Status, StopDate}``
  with ``Output`` as the JSON *string*; ``.sync:2`` the same with ``Output`` parsed as JSON.
- A child that ends FAILED, TIMED_OUT or ABORTED fails the Task with ``States.TaskFailed`` and the
  child's description (with its ``Error`` and ``Cause``) as the cause.
- A refused start (no such machine, a name taken, bad input) is
  ``StepFunctions.<Code>Exception`` with the Java SDK's cause line, as the Lambda integration words
  its errors.

Stopping the parent stops a ``.sync`` child, as AWS does; a shutdown of the server does not (both
resume). Put ``"AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"`` in the child's
Input to link the two, as AWS's console does; it travels as ordinary input.

Example:
    >>> _pascal({"executionArn": "a", "inputDetails": {"included": True}, "startDate": 1.5})
    {'ExecutionArn': 'a', 'InputDetails': {'Included': True}, 'StartDate': 1500}
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from ..errors import AwsError
from .errors import StatesError, StatesErrorName
from .tasks import resource_kind

if TYPE_CHECKING:
    from .executions import Execution

__all__ = ["ChildExecutions"]

_KINDS = frozenset(
    {
        "states:startExecution",
        "states:startExecution.sync",
        "states:startExecution.sync:2",
        "states:startExecution.waitForTaskToken",
    }
)
_DATES = frozenset({"startDate", "stopDate"})

#: starts a child from a StartExecution request and returns it (running, or idempotently found)
StartChild = Callable[[dict[str, Any]], Awaitable["Execution"]]
#: stops a running child: (execution, error, cause)
StopChild = Callable[["Execution", str | None, str | None], Awaitable[None]]


def _pascal(value: Any) -> Any:
    """AWS's API answer as the Java SDK serialises it into a task result."""
    if isinstance(value, dict):
        return {
            k[0].upper() + k[1:]: (round(v * 1000) if k in _DATES and isinstance(v, float) else _pascal(v))
            for k, v in value.items()
        }
    return value


class ChildExecutions:
    """``TaskInvoker`` for ``states:startExecution*``; everything else goes to ``inner``."""

    def __init__(self, inner: Any, *, start: StartChild, stop: StopChild) -> None:
        self.inner = inner
        self._start = start
        self._stop = stop

    def __getattr__(self, name: str) -> Any:  # the wrapped invoker's extras (e.g. LambdaTasks.lambdas)
        return getattr(self.inner, name)

    async def invoke(self, resource: str, payload: Any, *, timeout_s: float | None) -> Any:
        kind = resource_kind(resource)
        if kind not in _KINDS:
            return await self.inner.invoke(resource, payload, timeout_s=timeout_s)
        sync = kind.startswith("states:startExecution.sync")
        starting = asyncio.ensure_future(self._start_child(payload))
        try:
            child = await asyncio.shield(starting)
        except asyncio.CancelledError:  # stopped while starting: a child that did start is stopped too
            if sync and not (await asyncio.wait({starting}))[0].pop().exception():
                await self._stop(starting.result(), None, None)
            raise
        if not sync:
            return _start_answer(child)
        try:
            assert child.task is not None
            await asyncio.shield(child.task)
        except asyncio.CancelledError:
            await self._stop(child, None, None)
            raise
        described = _pascal(child.describe())
        if child.status.value == "SUCCEEDED":
            if kind.endswith(":2") and isinstance(described.get("Output"), str):
                described["Output"] = json.loads(described["Output"])
            return described
        raise StatesError(StatesErrorName.TASK_FAILED.value, json.dumps(described, separators=(",", ":")))

    async def _start_child(self, payload: Any) -> Execution:
        if not isinstance(payload, dict) or not isinstance(payload.get("StateMachineArn"), str):
            raise StatesError(
                StatesErrorName.RUNTIME.value,
                "The field 'StateMachineArn' is required for the states:startExecution integration",
            )
        request: dict[str, Any] = {"stateMachineArn": payload["StateMachineArn"]}
        if "Input" in payload:
            given = payload["Input"]
            request["input"] = given if isinstance(given, str) else json.dumps(given, ensure_ascii=False)
        if payload.get("Name") is not None:
            request["name"] = payload["Name"]
        try:
            return await self._start(request)
        except AwsError as exc:
            code = exc.code if exc.code.endswith("Exception") else exc.code + "Exception"
            raise StatesError(
                f"StepFunctions.{code}",
                f"{exc.message} (Service: AWSStepFunctions; Status Code: {exc.http_status}; Error Code: "
                f"{exc.code}; Request ID: {uuid.uuid4()}; Proxy: null)",
            ) from None


def _start_answer(child: Execution) -> dict[str, Any]:
    """StartExecution's answer as a task result (with the Java SDK's HTTP metadata)."""
    request_id = str(uuid.uuid4())
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "Date": formatdate(usegmt=True),
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutionArn": child.arn,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {k: [v] for k, v in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StartDate": round(child.start_date * 1000),
    }
