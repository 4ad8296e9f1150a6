"""``Pass``: passes its input (or ``Result``, or the Parameters' output) on, placed by ResultPath.

Spec: "A Pass State by default passes its input to its output, performing no work." ``Result`` is
"treated as the output of a virtual task", so ResultPath places it into the input.

Example:
    >>> import asyncio
    >>> from .parse import parse_definition
    >>> from .engine import Engine, ExecutionContext
    >>> from .clock import VirtualClock
    >>> d = parse_definition({"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2,
    ...                       "ResultPath": "$.r", "End": True}}})
    >>> class Rec:
    ...     async def event(self, type, details): pass
    >>> ctx = ExecutionContext(execution_arn="e", execution_name="e", state_machine_arn="m",
    ...                        state_machine_name="m")
    >>> asyncio.run(Engine(d, tasks=None, clock=VirtualClock()).run({"a": 1}, ctx, Rec())).output
    {'a': 1, 'r': 2}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dataflow import advance, apply_input_path, evaluate_assign, finish_jsonpath, render
from .model import PassState, QueryLanguage, Transition

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["run"]


async def run(state: PassState, value: Any, ctx: StateContext) -> Transition:
    """Run a Pass state on ``value`` (its raw input)."""
    if state.query_language is QueryLanguage.JSONATA:
        scope = ctx.scope(value)
        assigned = evaluate_assign(state.assign, scope)
        return advance(state, render(state.output, scope, value), assigned)
    scope = ctx.scope(value)
    if state.has_result:
        # Result stands in for the work: InputPath and Parameters are not evaluated (TestState
        # inspection records only result / afterResultSelector / afterResultPath here)
        result = state.result
        ctx.note("result", result)
    else:
        effective = apply_input_path(state.input_path, state.input_path_null, scope)
        ctx.note("afterInputPath", effective)
        result = render(state.parameters, ctx.scope(effective), effective)
        ctx.note("afterParameters", result)
    ctx.note("afterResultSelector", result)
    assigned = None if state.assign is None else evaluate_assign(state.assign, ctx.scope(result))
    return finish_jsonpath(state, value, result, scope, assigned, ctx)
