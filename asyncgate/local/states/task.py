"""``Task``: one unit of work through the ``TaskInvoker``, recorded as AWS records it.

History per resource form (GetExecutionHistory):

- Lambda function ARN: ``LambdaFunctionScheduled {resource, input, inputDetails, timeoutInSeconds?}``,
  ``LambdaFunctionStarted``, then ``LambdaFunctionSucceeded {output, outputDetails}`` |
  ``LambdaFunctionFailed {error, cause}`` | ``LambdaFunctionTimedOut {error, cause}``.
- Service integrations (``arn:aws:states:::lambda:invoke``...): ``TaskScheduled {resourceType,
  resource, region, parameters, timeoutInSeconds?, heartbeatInSeconds?}``, ``TaskStarted
  {resourceType, resource}``, then ``TaskSucceeded {resourceType, resource, output, outputDetails}`` |
  ``TaskFailed {resourceType, resource, error, cause}`` | ``TaskTimedOut {...}``.

``TimeoutSeconds`` (or its Path / JSONata form) bounds each attempt on the engine's clock and fails
it with ``States.Timeout``. A result over 256 KiB is ``States.DataLimitExceeded`` naming the resource
("The state/task 'lambda' returned a result ..." for lambda:invoke, the ARN for a function ARN).

Example:
    >>> integration("arn:aws:states:::lambda:invoke"), integration("arn:aws:states:::aws-sdk:s3:getObject")
    (('lambda', 'invoke'), ('aws-sdk:s3', 'getObject'))
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .clock import DeadlineExceeded, within
from .dataflow import advance, check_size, evaluate_assign, finish_jsonpath, prepare_input, render
from .errors import StatesError, StatesErrorName
from .history import dumps, error_details, payload_details
from .jsonpath import PathNotFound
from .model import Failed, QueryLanguage, TaskState, Transition
from .sdk_tasks import ACTING_ROLE
from .tasks import resource_kind

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["integration", "run"]


def integration(resource: str) -> tuple[str, str]:
    """``(resourceType, resource)`` as TaskScheduled records a service integration ARN."""
    kind = resource_kind(resource)
    if kind.startswith("aws-sdk:"):
        service, _, action = kind.rpartition(":")
        return service, action
    service, _, action = kind.partition(":")
    return service, action


async def run(state: TaskState, value: Any, ctx: StateContext) -> Transition:
    """Run the task once (the engine retries by calling again)."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    token = None
    if state.resource.endswith(".waitForTaskToken"):
        token = ctx.task_token = ctx.run.engine.tokens.issue(
            ctx.run.ctx.execution_arn, state.name, key=f"{ctx.entered_event_id}.{ctx.retry_count}"
        )
    payload = prepare_input(state, value, ctx)
    scope = ctx.scope(value)
    timeout = _seconds(state, "timeout_seconds", "TimeoutSeconds", ctx, value)
    heartbeat = _seconds(state, "heartbeat_seconds", "HeartbeatSeconds", ctx, value)
    try:
        outcome = await _invoke(state, payload, timeout, heartbeat, ctx, token)
    finally:
        if token is not None:
            ctx.run.engine.tokens.cancel(token)
    if isinstance(outcome, Failed):
        return outcome
    result = outcome
    if jsonata:
        result_scope = ctx.scope(value, result=result)
        assigned = evaluate_assign(state.assign, result_scope)
        return advance(state, render(state.output, result_scope, result), assigned)
    ctx.note("result", result)
    selected = render(state.result_selector, ctx.scope(result), result)
    ctx.note("afterResultSelector", selected)
    assigned = evaluate_assign(state.assign, ctx.scope(selected))
    return finish_jsonpath(state, value, selected, scope, assigned, ctx)


async def _invoke(
    state: TaskState,
    payload: Any,
    timeout: float | None,
    heartbeat: float | None,
    ctx: StateContext,
    token: str | None = None,
) -> Any:
    function = resource_kind(state.resource) == "lambda-function"
    if function:
        prefix = "LambdaFunction"
        label = state.resource
        scheduled: dict[str, Any] = {"resource": state.resource, **payload_details(payload, "input")}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        await ctx.emit("LambdaFunctionScheduled", scheduled)
        await ctx.emit("LambdaFunctionStarted", None)
        ident: dict[str, Any] = {}
    else:
        prefix = "Task"
        rtype, rname = integration(state.resource)
        label = rtype
        ident = {"resourceType": rtype, "resource": rname}
        scheduled = {**ident, "region": _region(ctx), "parameters": dumps(payload)}
        if timeout is not None:
            scheduled["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            scheduled["heartbeatInSeconds"] = int(heartbeat)
        await ctx.emit("TaskScheduled", scheduled)
        await ctx.emit("TaskStarted", dict(ident))
    try:
        result = await within(
            ctx.clock, timeout, _work(state, payload, timeout, heartbeat, ctx, ident, token)
        )
        check_size(result, label)
    except DeadlineExceeded:
        # recorded: a service integration's timeout carries an empty cause ({"Error", "Cause": ""} in a
        # Catch); a function ARN's carries none
        cause = None if function else ""
        await ctx.emit(f"{prefix}TimedOut", error_details(StatesErrorName.TIMEOUT.value, cause, **ident))
        return Failed(StatesErrorName.TIMEOUT.value, cause)
    except StatesError as exc:
        kind = "TimedOut" if exc.error == StatesErrorName.HEARTBEAT_TIMEOUT.value else "Failed"
        await ctx.emit(f"{prefix}{kind}", error_details(exc.error, exc.cause, **ident))
        return Failed(exc.error, exc.cause)
    await ctx.emit(f"{prefix}Succeeded", {**ident, **payload_details(result)})
    return result


async def _work(
    state: TaskState,
    payload: Any,
    timeout: float | None,
    heartbeat: float | None,
    ctx: StateContext,
    ident: dict[str, Any],
    token: str | None,
) -> Any:
    """The call, and for ``.waitForTaskToken`` the wait for SendTaskSuccess/Failure after it."""
    ACTING_ROLE.set(ctx.run.ctx.role_arn)  # service integrations call as the machine's role
    response = await ctx.tasks.invoke(state.resource, payload, timeout_s=timeout)
    if token is None:
        return response
    await ctx.emit("TaskSubmitted", {**ident, **payload_details(response)})
    return await ctx.run.engine.tokens.wait(token, clock=ctx.clock, heartbeat_s=heartbeat)


def _region(ctx: StateContext) -> str:
    parts = ctx.run.ctx.execution_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else "us-east-1"


def _seconds(state: TaskState, attr: str, field: str, ctx: StateContext, value: Any) -> float | None:
    fixed = getattr(state, attr)
    if fixed is not None:
        return float(fixed)
    expr = getattr(state, attr + "_expr")
    if expr is not None:
        v = expr.render(ctx.scope(value))
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise StatesError(
                StatesErrorName.QUERY_EVALUATION_ERROR,
                f"The {field} field must be a positive integer: {json.dumps(v)}",
            )
        return float(v)
    path = getattr(state, attr + "_path")
    if path is None:
        return None
    try:
        v = path.resolve(ctx.scope(value))
    except PathNotFound as exc:
        raise StatesError(StatesErrorName.RUNTIME, f"Invalid path '{path.text}' : {exc.message}") from None
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise StatesError(
            StatesErrorName.RUNTIME,
            f'The {field}Path field refers to value "{v}" which is not a valid positive integer: {path.text}',
        )
    return float(v)
