"""``Wait``: delays for Seconds or until a Timestamp (or their Path / JSONata forms).

Waiting goes through the engine's ``Clock``, so tests fast-forward and ``--time-scale`` shortens it.
Errors are worded as AWS records them (conformance corpus, ``test_base_wait_seconds_path`` and
``test_wait_timestamp_path``): "The SecondsPath parameter cannot be parsed as a long value: $.x ==
1.5", "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time
format string: $.t == 2016-12-05T21:29:29".

Example:
    >>> parse_timestamp("2024-01-01T00:00:00Z")
    1704067200.0
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..jsontext import compact
from .dataflow import apply_input_path, apply_output_path, evaluate_assign, render
from .errors import StatesError, StatesErrorName
from .jsonpath import JsonPath, PathNotFound
from .model import End, Next, QueryLanguage, Transition, WaitState
from .parse_fields import is_rfc3339
from .scope import Scope

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["parse_timestamp", "run"]


def parse_timestamp(text: Any) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp, or None when it is not one."""
    if not isinstance(text, str) or not is_rfc3339(text):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def run(state: WaitState, value: Any, ctx: StateContext) -> Transition:
    """Wait, then pass the input on."""
    jsonata = state.query_language is QueryLanguage.JSONATA
    scope = ctx.scope(value)
    effective = value if jsonata else apply_input_path(state.input_path, state.input_path_null, scope)
    if not jsonata:
        ctx.note("afterInputPath", effective)
    eff_scope = ctx.scope(effective)
    now = ctx.clock.time()
    if state.seconds is not None:
        delay = float(state.seconds)
    elif state.seconds_expr is not None:
        seconds = state.seconds_expr.render(eff_scope)
        if not _is_whole(seconds) or seconds < 0:
            raise StatesError(
                StatesErrorName.QUERY_EVALUATION_ERROR,
                f"The Seconds field must be a positive integer: {_dumps(seconds)}",
            )
        delay = float(seconds)
    elif state.seconds_path is not None:
        seconds = _resolve(state.seconds_path, "SecondsPath", eff_scope)
        if not _is_whole(seconds):
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"The SecondsPath parameter cannot be parsed as a long value: "
                f"{state.seconds_path.text} == {_dumps(seconds)}",
            )
        if seconds < 0:
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"The SecondsPath parameter references a negative value: "
                f"{state.seconds_path.text} == {_dumps(seconds)}",
            )
        delay = float(seconds)
    elif state.timestamp is not None:
        delay = (parse_timestamp(state.timestamp) or now) - now
    elif state.timestamp_expr is not None:
        ts = state.timestamp_expr.render(eff_scope)
        at = parse_timestamp(ts)
        if at is None:
            raise StatesError(
                StatesErrorName.QUERY_EVALUATION_ERROR,
                "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
                f"format string: {ts if isinstance(ts, str) else _dumps(ts)}",
            )
        delay = at - now
    else:
        assert state.timestamp_path is not None
        ts = _resolve(state.timestamp_path, "TimestampPath", eff_scope)
        at = parse_timestamp(ts)
        if at is None:
            raise StatesError(
                StatesErrorName.RUNTIME,
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
                f"date-time format string: {state.timestamp_path.text} == "
                f"{ts if isinstance(ts, str) else _dumps(ts)}",
            )
        delay = at - now
    if state.timestamp is None and state.timestamp_expr is None and state.timestamp_path is None:
        # Seconds count from the state's EnteredTime: a Wait resumed after a restart keeps its deadline
        delay -= max(0.0, now - ctx.entered_time)
    assigned = evaluate_assign(state.assign, eff_scope if not jsonata else scope)
    if delay > 0:
        await ctx.clock.sleep(delay)
    if jsonata:
        output = render(state.output, scope, value)
    else:
        output = apply_output_path(state.output_path, state.output_path_null, effective, scope)
    if state.next is not None:
        return Next(state.next, output, assigned)
    return End(output, assigned)


def _resolve(path: JsonPath, field: str, scope: Scope) -> Any:
    try:
        return path.resolve(scope)
    except PathNotFound:
        raise StatesError(
            StatesErrorName.RUNTIME,
            f"The JSONPath '{path.text}' specified for the field '{field}' could not be found in the input "
            f"'{_dumps(scope.input)}'",
        ) from None


def _is_whole(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    return isinstance(v, int)  # Java's Long parse: 1.5 and 1.0 both fail


def _dumps(v: Any) -> str:
    return compact(v)
