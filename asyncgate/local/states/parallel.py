"""``Parallel``: every branch runs concurrently on the same input; the output is their outputs in
branch order.

Spec: "If any branch fails, the entire Parallel State is considered to have failed" and the
interpreter "SHOULD attempt to stop" the others: the first failure cancels the sibling branches
(asyncio cancellation) and the state fails with that branch's error and cause, which Retry/Catch on
the Parallel state then see. History: ``ParallelStateStarted``, the branches' events interleaved,
then ``ParallelStateSucceeded`` | ``ParallelStateFailed``.

Branch scopes see the outer workflow variables read-only; what they assign stays inside the branch.

Resume after a restart: every event a branch records is tagged with it and a branch's end is marked
beside its last event (``branch_path.py``), so a resumed Parallel reuses its finished branches' outputs
and continues the others from their own recorded events, recording nothing twice but the inner
state each unfinished branch had in flight (``parallel_resume.py``).

Example:
    >>> from .model import ParallelState
    >>> ParallelState(name="P").branches
    ()
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .dataflow import advance, evaluate_assign, finish_jsonpath, prepare_input, render
from .map_resume import failure_checkpoint
from .model import End, Failed, ParallelState, QueryLanguage, Transition
from .parallel_resume import ParallelProgress

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["run"]


async def run(state: ParallelState, value: Any, ctx: StateContext) -> Transition:
    """Run all branches; the first failure cancels the rest."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    branch_input = prepare_input(state, value, ctx)
    scope = ctx.scope(value)
    progress = ctx.take_progress()
    if not isinstance(progress, ParallelProgress):
        progress = ParallelProgress()
    if progress.failure is not None:  # the attempt had ended failed before the restart
        return progress.failure
    if "ParallelStateStarted" not in progress.recorded:
        await ctx.emit("ParallelStateStarted", None)

    async def branch(index: int) -> End | Failed:
        if index in progress.finished:  # finished before a restart: its output, no events
            return End(progress.finished[index])
        resume = progress.branches.get(index)
        return await ctx.run_branch(state.branches[index], branch_input, index=index, resume=resume)

    tasks = [asyncio.ensure_future(branch(i)) for i in range(len(state.branches))]
    failure: Failed | None = None
    try:
        pending = set(tasks)
        while pending and failure is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:  # the earliest-listed failed branch wins when several end together
                if t in done and isinstance(result := t.result(), Failed):
                    failure = result
                    break
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failure is not None:  # the failure is kept privately beside the event, for a resume
        if "ParallelStateFailed" not in progress.recorded:
            await ctx.emit("ParallelStateFailed", None, failure_checkpoint(failure))
        return failure
    if "ParallelStateSucceeded" not in progress.recorded:
        await ctx.emit("ParallelStateSucceeded", None)
    results = [result.output for t in tasks if isinstance(result := t.result(), End)]
    if jsonata:
        result_scope = ctx.scope(value, result=results)
        assigned = evaluate_assign(state.assign, result_scope)
        return advance(state, render(state.output, result_scope, results), assigned)
    ctx.note("result", results)
    selected = render(state.result_selector, ctx.scope(results), results)
    ctx.note("afterResultSelector", selected)
    assigned = evaluate_assign(state.assign, ctx.scope(selected))
    return finish_jsonpath(state, value, selected, scope, assigned, ctx)
