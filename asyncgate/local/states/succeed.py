"""``Succeed``: ends the machine (or branch, or iteration) successfully with its (filtered) input.

Spec: "The Succeed State terminates a state machine successfully ... InputPath and OutputPath
apply." Under JSONata, ``Output`` shapes the output.

Example:
    >>> from .model import SucceedState
    >>> SucceedState(name="Done").end
    False
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dataflow import apply_input_path, apply_output_path, evaluate_assign, render
from .model import End, QueryLanguage, SucceedState, Transition

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["run"]


async def run(state: SucceedState, value: Any, ctx: StateContext) -> Transition:
    """End successfully."""
    scope = ctx.scope(value)
    if state.query_language is QueryLanguage.JSONATA:
        return End(render(state.output, scope, value), evaluate_assign(state.assign, scope))
    effective = apply_input_path(state.input_path, state.input_path_null, scope)
    ctx.note("afterInputPath", effective)
    return End(apply_output_path(state.output_path, state.output_path_null, effective, scope))
