"""``Parallel``: every branch runs concurrently on the same input; the output is their outputs in
branch order.

Spec: "If any branch fails, the entire Parallel State is considered to have failed" and the
interpreter "SHOULD attempt to stop" the others: the first failure cancels the sibling branches
(asyncio cancellation) and the state fails with that branch's error and cause, which Retry/Catch on
the Parallel state then see. History: ``ParallelStateStarted``, the branches' events interleaved,
then ``ParallelStateSucceeded`` | ``ParallelStateFailed``.

Branch scopes see the outer workflow variables read-only; what they assign stays inside the branch.

Example:
    >>> from .model import ParallelState
    >>> ParallelState(name="P").branches
    ()
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .dataflow import advance, evaluate_assign, finish_jsonpath, prepare_input, render
from .model import End, Failed, ParallelState, QueryLanguage, Transition

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["run"]


async def run(state: ParallelState, value: Any, ctx: StateContext) -> Transition:
    """Run all branches; the first failure cancels the rest."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    branch_input = prepare_input(state, value, ctx)
    scope = ctx.scope(value)
    await ctx.emit("ParallelStateStarted", None)
    tasks = [asyncio.ensure_future(ctx.run_branch(b, branch_input)) for b in state.branches]
    failure: Failed | None = None
    try:
        pending = set(tasks)
        while pending and failure is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:  # the earliest-listed failed branch wins when several end together
                if t in done and isinstance(t.result(), Failed):
                    failure = t.result()
                    break
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failure is not None:
        await ctx.emit("ParallelStateFailed", None)
        return failure
    await ctx.emit("ParallelStateSucceeded", None)
    results = [t.result().output for t in tasks if isinstance(t.result(), End)]
    if jsonata:
        result_scope = ctx.scope(value, result=results)
        assigned = evaluate_assign(state.assign, result_scope)
        return advance(state, render(state.output, result_scope, results), assigned)
    ctx.note("result", results)
    selected = render(state.result_selector, ctx.scope(results), results)
    ctx.note("afterResultSelector", selected)
    assigned = evaluate_assign(state.assign, ctx.scope(selected))
    return finish_jsonpath(state, value, selected, scope, assigned, ctx)
