"""``Choice``: the first rule that matches picks the next state; else Default; else
``States.NoChoiceMatched``.

Spec: "A Choice state ... evaluates each Choice Rule in order and transitions to the Next of the first
one that matches"; "If no Choice Rule matches and no Default is given, the interpreter raises
States.NoChoiceMatched". A Choice has no ResultPath: its output is its (filtered) input, or under
JSONata the matched rule's ``Output`` (else the state's). Assign: the state's own always, plus the
matched rule's (developer guide, "Choice workflow state").

The rules themselves (``choice.py``) are compiled once at parse time; this module only walks them.

Example:
    >>> NO_MATCH_CAUSE
    'No Matches!'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .dataflow import apply_input_path, apply_output_path, evaluate_assign, render
from .errors import StatesError, StatesErrorName
from .model import ChoiceState, Next, QueryLanguage, Transition

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["NO_MATCH_CAUSE", "run"]

#: the cause AWS records with States.NoChoiceMatched
NO_MATCH_CAUSE = "No Matches!"


async def run(state: ChoiceState, value: Any, ctx: StateContext) -> Transition:
    """Pick the next state."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    scope = ctx.scope(value)
    effective = value if jsonata else apply_input_path(state.input_path, state.input_path_null, scope)
    if not jsonata:
        ctx.note("afterInputPath", effective)
    rule_scope = ctx.scope(effective)
    for branch in state.choices:
        if branch.rule.matches(rule_scope):
            target, assign, output = branch.next, branch.assign, branch.output
            break
    else:
        if state.default is None:
            raise StatesError(StatesErrorName.NO_CHOICE_MATCHED, NO_MATCH_CAUSE)
        target, assign, output = state.default, None, None
    # the guide: the state-level Assign "applies regardless of which choice rule matches"; the
    # matched rule's own Assign is evaluated alongside it (same snapshot) and wins on a clash
    assigned = evaluate_assign(state.assign, rule_scope)
    rule_assigned = evaluate_assign(assign, rule_scope)
    if rule_assigned:
        assigned = {**(assigned or {}), **rule_assigned}
    if jsonata:
        return Next(target, render(output or state.output, scope, value), assigned)
    return Next(
        target, apply_output_path(state.output_path, state.output_path_null, effective, scope), assigned
    )
