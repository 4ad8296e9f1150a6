"""``Map``: runs the ItemProcessor once per item, at most MaxConcurrency at a time.

Spec and developer guide rules kept here:

- Items come from ``ItemsPath`` (default ``$``) over the effective input, or JSONata ``Items``
  (default the state input); anything but an array fails ("Map state input must be an array but
  was: 1", recorded).
- Each iteration's input is the item, or ``ItemSelector`` (legacy ``Parameters``) rendered with
  ``$$.Map.Item.Index`` / ``$$.Map.Item.Value``; ``ItemBatcher`` groups items as
  ``{"Items": [...], "BatchInput": ...}``.
- ``MaxConcurrency`` 0 means no limit. Without a tolerated failure threshold the first failing
  iteration fails the state with its own error and cause and aborts the others; with
  ``ToleratedFailureCount``/``Percentage`` failures up to the threshold leave their ``{Error, Cause}``
  in the output, beyond it the state fails with ``States.ExceedToleratedFailureThreshold``.
- History: ``MapStateStarted {length}``, per item ``MapIterationStarted {name, index}`` ...
  ``MapIterationSucceeded`` | ``MapIterationFailed`` | ``MapIterationAborted``, then
  ``MapStateSucceeded`` | ``MapStateFailed``. DISTRIBUTED runs record ``MapRunStarted {mapRunArn}`` and
  ``MapRunSucceeded`` | ``MapRunFailed``; their child executions' events are not in the parent's history.
- Resume after a restart: each finished iteration's result is checkpointed beside its event, and a
  resumed Map reuses them and runs only unfinished iterations, each from its own recorded events
  (``map_resume.py``, ``parallel_resume.py``): only the inner state in flight runs again.

Example:
    >>> batches([1, 2, 3], {"MaxItemsPerBatch": 2}, None)
    [{'Items': [1, 2]}, {'Items': [3]}]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..jsontext import compact
from .dataflow import advance, apply_input_path, evaluate_assign, finish_jsonpath, render
from .errors import StatesError, StatesErrorName
from .jsonpath import JsonPath, PathNotFound, type_name
from .map_resume import MapProgress, checkpoint, failure_checkpoint
from .model import End, Failed, MapState, QueryLanguage, Transition
from .parallel_resume import by_branch
from .scope import Scope

if TYPE_CHECKING:
    from .state_context import StateContext
    from .test_state_run import TestStateRun

__all__ = ["batches", "run"]


async def run(state: MapState, value: Any, ctx: StateContext) -> Transition:
    """Run every item; see the module docstring for the rules."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    testing = ctx.run.testing
    mocked = testing is not None and testing.mocked and testing.is_tested(state.name)
    scope = ctx.scope(value)
    effective = value if jsonata else apply_input_path(state.input_path, state.input_path_null, scope)
    eff_scope = ctx.scope(effective)
    if not jsonata:
        ctx.note("afterInputPath", effective)
    if mocked and state.item_reader is not None:  # TestState: the reader's data is given, not read
        reader_data = testing.map_item_reader_data if testing is not None else None
        items = reader_data if isinstance(reader_data, list) else None
    else:
        items = _items(state, effective, eff_scope, jsonata)
    if not jsonata and items is not None:  # "Not populated when the QueryLanguage is JSONata"
        ctx.note("afterItemsPath", items)
    limit = _int_field(state, "max_concurrency", "MaxConcurrency", eff_scope) or 0
    tolerated_count = _int_field(state, "tolerated_failure_count", "ToleratedFailureCount", eff_scope)
    tolerated_pct = _float_field(
        state, "tolerated_failure_percentage", "ToleratedFailurePercentage", eff_scope
    )
    ctx.note("maxConcurrency", limit)
    if tolerated_count is not None:
        ctx.note("toleratedFailureCount", tolerated_count)
    if tolerated_pct is not None:
        ctx.note("toleratedFailurePercentage", tolerated_pct)
    tolerant = tolerated_count is not None or tolerated_pct is not None
    if mocked and testing is not None:
        outcome = _mocked(testing, items, tolerated_count, tolerated_pct)
        return await _finish(state, value, scope, ctx, outcome, distributed=False, mocked=True)
    if state.item_selector is None:  # each iteration's input is its item
        inputs = list(items or ())
    else:
        inputs = []
        for index, item in enumerate(items or ()):
            extra = {"Map": {"Item": {"Index": index, "Value": item}}}
            inputs.append(render(state.item_selector, ctx.scope(effective, extra_context=extra), item))
    if state.item_batcher:
        inputs = batches(inputs, state.item_batcher, ctx.scope(effective))
    distributed = state.mode == "DISTRIBUTED"
    progress = ctx.take_progress()
    if not isinstance(progress, MapProgress):
        progress = MapProgress()
    if "MapStateStarted" not in progress.recorded:
        await ctx.emit("MapStateStarted", {"length": len(inputs)})
    if distributed and "MapRunStarted" not in progress.recorded:
        run_arn = _map_run_arn(ctx, state)
        await ctx.emit("MapRunStarted", {"mapRunArn": run_arn})
    outcome = await _iterate(state, inputs, ctx, limit, tolerant, distributed, progress)
    if isinstance(outcome, list) and tolerant:
        failures = sum(1 for r in outcome if isinstance(r, Failed))
        over = (tolerated_count is not None and failures > tolerated_count) or (
            tolerated_pct is not None and bool(inputs) and failures * 100.0 / len(inputs) > tolerated_pct
        )
        if over:
            outcome = Failed(
                StatesErrorName.EXCEED_TOLERATED_FAILURE_THRESHOLD.value,
                "The specified tolerated failure threshold was exceeded",
            )
        else:
            outcome = [
                StatesError(r.error or "", r.cause).to_output() if isinstance(r, Failed) else r
                for r in outcome
            ]
    return await _finish(
        state, value, scope, ctx, outcome, distributed=distributed, recorded=progress.recorded
    )


def _mocked(
    testing: TestStateRun, items: list[Any] | None, tolerated_count: int | None, tolerated_pct: float | None
) -> Any:
    """A mocked Map's outcome (TestState): the mock, or the threshold that ``mapIterationFailureCount``
    exceeds. The percentage counts the items, or the mocked results when an ItemReader had no data."""
    outcome = testing.map_outcome()
    if isinstance(outcome, Failed):
        return outcome
    count = len(items) if items is not None else len(outcome) if isinstance(outcome, list) else 0
    if testing.failures_over(tolerated_count=tolerated_count, tolerated_pct=tolerated_pct, items=count):
        return Failed(
            StatesErrorName.EXCEED_TOLERATED_FAILURE_THRESHOLD.value,
            "The specified tolerated failure threshold was exceeded",
        )
    return outcome


async def _finish(
    state: MapState,
    value: Any,
    scope: Scope,
    ctx: StateContext,
    outcome: Any,
    *,
    distributed: bool,
    mocked: bool = False,
    recorded: frozenset[str] | set[str] = frozenset(),
) -> Transition:
    """The Map's end: its failure, or its results through Output / ResultSelector, ResultPath, ...

    ``recorded``: Map-level events a resumed attempt had already recorded (not written twice).
    """
    jsonata = state.query_language is QueryLanguage.JSONATA

    async def emit(type: str, details: dict[str, Any] | None) -> None:
        if type not in recorded:
            await ctx.emit(type, details)
    if mocked:
        await ctx.emit("MapStateStarted", {"length": len(outcome) if isinstance(outcome, list) else 0})
    if isinstance(outcome, Failed):
        if distributed:
            await emit(
                "MapRunFailed", {"error": outcome.error, "cause": outcome.cause} if outcome.error else None
            )
        await emit("MapStateFailed", None)
        return outcome
    if distributed:
        await emit("MapRunSucceeded", None)
    await emit("MapStateSucceeded", None)
    results = outcome
    if jsonata:
        result_scope = ctx.scope(value, result=results)
        assigned = evaluate_assign(state.assign, result_scope)
        return advance(state, render(state.output, result_scope, results), assigned)
    if not mocked:  # a mocked Map's inspection shows no result step (recorded)
        ctx.note("result", results)
    selected = render(state.result_selector, ctx.scope(results), results)
    ctx.note("afterResultSelector", selected)
    assigned = evaluate_assign(state.assign, ctx.scope(selected))
    return finish_jsonpath(state, value, selected, scope, assigned, ctx)


async def _iterate(
    state: MapState,
    inputs: list[Any],
    ctx: StateContext,
    limit: int,
    tolerant: bool,
    distributed: bool,
    progress: MapProgress,
) -> list[Any] | Failed:
    """Run the iterations; a list of outputs (Failed entries when tolerant) or the first Failed.

    ``progress`` (a resume): finished iterations are not run, their checkpointed results are reused.
    """
    gate = asyncio.Semaphore(limit) if limit > 0 else None
    results: list[Any] = [None] * len(inputs)
    running: set[int] = set()
    #: a resume: the recorded events of each iteration (tagged with it, ``branch_path.py``)
    recorded = by_branch(progress.events, ctx.entered_event_id) if progress.started else {}

    async def one(index: int) -> None:
        if index in progress.finished:  # finished before a restart: its result, no slot, no events
            results[index] = progress.finished[index]
            if isinstance(results[index], Failed) and not tolerant:
                raise _Stop(results[index])
            return
        if gate is not None:
            await gate.acquire()
        try:
            running.add(index)
            if not distributed and index not in progress.started:
                await ctx.emit("MapIterationStarted", {"name": state.name, "index": index})
            # an iteration in flight at a restart goes on from its own recorded events
            resume = recorded.get(index) if index in progress.started else None
            t = await ctx.run_branch(
                state.processor, inputs[index], silent=distributed, index=index, resume=resume
            )
            running.discard(index)
            if isinstance(t, Failed):
                if not distributed:
                    await ctx.emit(
                        "MapIterationFailed", {"name": state.name, "index": index}, failure_checkpoint(t)
                    )
                results[index] = t
                if not tolerant:
                    raise _Stop(t)
            else:
                assert isinstance(t, End)
                if not distributed:  # the output's text is its last state's Exited output, kept
                    await ctx.emit(
                        "MapIterationSucceeded", {"name": state.name, "index": index},
                        checkpoint(ctx.run.text(t.output)),
                    )
                results[index] = t.output
        finally:
            running.discard(index)
            if gate is not None:
                gate.release()

    tasks = [asyncio.ensure_future(one(i)) for i in range(len(inputs))]
    try:
        await asyncio.gather(*tasks)
    except _Stop as stop:
        aborted = sorted(running)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not distributed:
            for index in aborted:
                await ctx.emit("MapIterationAborted", {"name": state.name, "index": index})
        return stop.failure
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()
    return results


class _Stop(Exception):  # noqa: N818 - control flow, never escapes this module
    def __init__(self, failure: Failed) -> None:
        super().__init__(failure.error)
        self.failure = failure


def batches(items: list[Any], batcher: Mapping[str, Any], scope: Scope | None) -> list[dict[str, Any]]:
    """Group items per ``ItemBatcher`` (MaxItemsPerBatch, MaxInputBytesPerBatch, BatchInput)."""
    size = batcher.get("MaxItemsPerBatch")
    if size is None and "MaxItemsPerBatchPath" in batcher and scope is not None:
        from .jsonpath import compile_path

        size = compile_path(batcher["MaxItemsPerBatchPath"]).resolve(scope)
    max_bytes = batcher.get("MaxInputBytesPerBatch") or 262_144
    size = int(size) if isinstance(size, int) and size > 0 else len(items) or 1
    out: list[dict[str, Any]] = []
    current: list[Any] = []
    used = 0
    for item in items:
        n = len(json.dumps(item, separators=(",", ":")).encode())
        if current and (len(current) >= size or used + n > max_bytes):
            out.append({"Items": current})
            current, used = [], 0
        current.append(item)
        used += n
    if current:
        out.append({"Items": current})
    if "BatchInput" in batcher:
        for b in out:
            b["BatchInput"] = batcher["BatchInput"]
    return out


def _items(state: MapState, effective: Any, scope: Scope, jsonata: bool) -> list[Any]:
    if state.item_reader is not None:
        raise StatesError(
            StatesErrorName.ITEM_READER_FAILED,
            f"The ItemReader resource '{state.item_reader['Resource']}' is not supported by the local "
            "runtime: asyncgate reads Map items from the state input (ItemsPath / Items) only",
        )
    if jsonata:
        if state.items is not None:
            items = state.items.render(scope)
            if not isinstance(items, list):
                text = getattr(state.items, "template", "")
                if isinstance(text, str) and text.startswith("{%"):
                    text = text[2:-2].strip()
                raise StatesError(
                    StatesErrorName.QUERY_EVALUATION_ERROR,
                    f"The JSONata expression '{text}' specified for the field 'Items' returned an unexpected "
                    f"result type. Expected 'array', but was '{type_name(items)}' for value: {_dumps(items)}",
                )
            return items
        items = effective
    else:
        items = effective
        if state.items_path is not None:
            try:
                items = state.items_path.resolve(scope)
            except PathNotFound as exc:
                raise StatesError(
                    StatesErrorName.RUNTIME, f"Invalid path '{state.items_path.text}' : {exc.message}"
                ) from None
        if not isinstance(items, list):
            # recorded (TestState): ItemsPath "$$.Execution.Input" is shown as "$.Execution.Input"
            text = state.items_path.text if state.items_path is not None else "$"
            shown = text[1:] if text.startswith("$$") else text
            raise StatesError(StatesErrorName.RUNTIME, f'Reference path "{shown}" must point to array.')
        return items
    if not isinstance(items, list):
        raise StatesError(
            StatesErrorName.QUERY_EVALUATION_ERROR,
            f"Map state input must be an array but was: {_dumps(items)}",
        )
    return items


def _raw(state: MapState, attr: str, field: str, scope: Scope) -> tuple[Any, JsonPath | None]:
    fixed = getattr(state, attr)
    if fixed is not None:
        return fixed, None
    expr = getattr(state, attr + "_expr")
    if expr is not None:
        return expr.render(scope), None
    path: JsonPath | None = getattr(state, attr + "_path")
    if path is None:
        return None, None
    try:
        return path.resolve(scope), path
    except PathNotFound as exc:
        raise StatesError(StatesErrorName.RUNTIME, f"Invalid path '{path.text}' : {exc.message}") from None


def _int_field(state: MapState, attr: str, field: str, scope: Scope) -> int | None:
    v, path = _raw(state, attr, field, scope)
    if v is None:
        return None
    if isinstance(v, str) and path is not None:
        with contextlib.suppress(ValueError):
            v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        where = f"{field}Path" if path is not None else field
        raise StatesError(
            StatesErrorName.RUNTIME if path is not None else StatesErrorName.QUERY_EVALUATION_ERROR,
            f'The {where} field refers to value "{_text(v)}" which is not a valid integer: '
            f"{path.text if path is not None else _dumps(v)}",
        )
    return v


def _float_field(state: MapState, attr: str, field: str, scope: Scope) -> float | None:
    v, path = _raw(state, attr, field, scope)
    if v is None:
        return None
    if isinstance(v, str) and path is not None:
        with contextlib.suppress(ValueError):
            v = float(v)
    if isinstance(v, bool) or not isinstance(v, int | float):
        where = f"{field}Path" if path is not None else field
        raise StatesError(
            StatesErrorName.RUNTIME if path is not None else StatesErrorName.QUERY_EVALUATION_ERROR,
            f'The {where} field refers to value "{_text(v)}" which is not a valid float: '
            f"{path.text if path is not None else _dumps(v)}",
        )
    if not 0 <= v <= 100:
        raise StatesError(StatesErrorName.RUNTIME, f"{field} must be between 0 and 100.")
    return float(v)


def _map_run_arn(ctx: StateContext, state: MapState) -> str:
    parts = ctx.run.ctx.state_machine_arn.split(":")
    machine = parts[-1] if parts else "machine"
    head = ":".join(parts[:5]) if len(parts) >= 5 else "arn:aws:states:us-east-1:000000000000"
    return f"{head}:mapRun:{machine}/{state.label or state.name}:{uuid.uuid4()}"


def _text(v: Any) -> str:
    return v if isinstance(v, str) else _dumps(v)


def _dumps(v: Any) -> str:
    return compact(v)
