"""Input and output processing: InputPath -> Parameters -> (work) -> ResultSelector -> ResultPath ->
OutputPath under JSONPath; Arguments -> (work) -> Output under JSONata; Assign under both.

Every step is one small function over values (no state), so each state module composes the steps
it has, and the rules live in one place:

- InputPath ``null`` gives ``{}``; ResultPath ``null`` discards the result (output = the state's
  input); OutputPath ``null`` gives ``{}`` (spec, "Input and Output Processing").
- A path that selects nothing fails with ``States.Runtime`` and Jayway's words ("Invalid path
  '$.x' : No results for path: $['x']"); the engine prefixes "An error occurred while executing the
  state ...".
- ``Assign`` is evaluated against the variables as they were when the state was entered (all
  expressions see the same snapshot) and, under JSONPath, ``$`` is the state's result (after
  ResultSelector), or its effective input when it has none; ``$$`` the context object.
- 256 KiB (262,144 bytes of UTF-8) per state output: ``States.DataLimitExceeded``.

Example:
    >>> from .jsonpath import compile_path
    >>> place_result({"a": 1}, {"b": 2}, compile_path("$.r"), null=False)
    {'a': 1, 'r': {'b': 2}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..jsontext import compact
from .errors import StatesError, StatesErrorName
from .jsonpath import JsonPath, PathNotFound
from .model import End, Next, QueryLanguage, Renderable
from .scope import Scope

__all__ = [
    "MAX_BYTES",
    "advance",
    "apply_input_path",
    "apply_output_path",
    "check_size",
    "data_limit_error",
    "evaluate_assign",
    "finish_jsonpath",
    "place_result",
    "prepare_input",
    "render",
    "size_of",
]

#: Step Functions' limit on a state's input or output, in bytes of UTF-8.
MAX_BYTES = 262_144


def _path_error(path: JsonPath, exc: PathNotFound) -> StatesError:
    return StatesError(StatesErrorName.RUNTIME, f"Invalid path '{path.text}' : {exc.message}")


def _select(path: JsonPath, scope: Scope) -> Any:
    try:
        return path.resolve(scope)
    except PathNotFound as exc:
        raise _path_error(path, exc) from None


def apply_input_path(path: JsonPath | None, null: bool, scope: Scope) -> Any:
    """``InputPath``: the part of the state's input that the state works on.

    Example:
        >>> from .jsonpath import compile_path
        >>> apply_input_path(compile_path("$.a"), False, Scope(input={"a": [1]})), apply_input_path(None, True, Scope(input=1))
        ([1], {})
    """  # noqa: E501
    if null:
        return {}
    if path is None:
        return scope.input
    return _select(path, scope)


def apply_output_path(path: JsonPath | None, null: bool, value: Any, scope: Scope) -> Any:
    """``OutputPath``: the part of the (ResultPath-combined) output passed on."""
    if null:
        return {}
    if path is None:
        return value
    return _select(path, Scope(input=value, context=scope.context, variables=scope.variables))


def place_result(state_input: Any, result: Any, path: JsonPath | None, *, null: bool) -> Any:
    """``ResultPath``: put ``result`` into the state's (raw) input; ``$`` (default) replaces it."""
    if null:
        return state_input
    if path is None or not path.segments:
        return result
    try:
        return path.set(state_input, result)
    except PathNotFound as exc:
        raise StatesError(
            StatesErrorName.RESULT_PATH_MATCH_FAILURE,
            f'Unable to apply ResultPath "{path.text}" to input "{_dumps(state_input)}": {exc.message}',
        ) from None


def render(template: Renderable | None, scope: Scope, default: Any) -> Any:
    """A template's value, or ``default`` when the state has none."""
    if template is None:
        return default
    return template.render(scope)


class _Inspected(Protocol):
    """What ``prepare_input`` needs of a state's context: scopes and TestState's inspection notes."""

    def scope(self, value: Any) -> Scope: ...

    def note(self, step: str, value: Any) -> None: ...


def prepare_input(state: Any, value: Any, ctx: _Inspected) -> Any:
    """A Task's or Parallel's effective input: ``Arguments`` (JSONata) or ``InputPath`` then
    ``Parameters`` (JSONPath), each step noted for TestState's inspection data."""
    scope = ctx.scope(value)
    if state.query_language is QueryLanguage.JSONATA:
        prepared = render(state.arguments, scope, value)
        ctx.note("afterArguments", prepared)
        return prepared
    effective = apply_input_path(state.input_path, state.input_path_null, scope)
    ctx.note("afterInputPath", effective)
    prepared = render(state.parameters, ctx.scope(effective), effective)
    ctx.note("afterParameters", prepared)
    return prepared


def evaluate_assign(assign: Renderable | None, scope: Scope) -> dict[str, Any] | None:
    """The variables ``Assign`` sets, all evaluated in ``scope`` (the snapshot at state entry)."""
    if assign is None:
        return None
    values = assign.render(scope)
    if not isinstance(values, Mapping):
        return None
    return dict(values)


def _dumps(value: Any) -> str:
    return compact(value)


def size_of(value: Any) -> int:
    """Bytes of UTF-8 in the compact JSON text of ``value``.

    Example:
        >>> size_of({"a": "é"})
        10
    """
    return len(_dumps(value).encode("utf-8"))


def data_limit_error(label: str) -> StatesError:
    """AWS's error for a result over 256 KiB; ``label`` is the state's name or the task's resource."""
    return StatesError(
        StatesErrorName.DATA_LIMIT_EXCEEDED,
        f"The state/task '{label}' returned a result with a size exceeding the maximum number of bytes "
        "service limit.",
    )


def check_size(value: Any, label: str, text: str | None = None) -> None:
    """Raise ``States.DataLimitExceeded`` when ``value`` is over 256 KiB.

    ``text``: ``value``'s compact JSON text when the caller has it (the engine writes it for the
    Exited event anyway), so it is not written twice.
    """
    small_scalar = not isinstance(value, str) or len(value) * 4 < MAX_BYTES
    if (isinstance(value, str | int | float | bool) or value is None) and small_scalar:
        return
    size = size_of(value) if text is None else len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise data_limit_error(label)


def advance(state: Any, output: Any, assigned: Mapping[str, Any] | None) -> Next | End:
    """``Next`` when the state has one, else ``End``.

    Example:
        >>> from .model import PassState
        >>> advance(PassState(name="A", end=True), 1, None)
        End(output=1, assigned=None)
    """
    if state.next is not None:
        return Next(state.next, output, assigned)
    return End(output, assigned)


def finish_jsonpath(
    state: Any, raw_input: Any, result: Any, scope: Scope, assigned: Mapping[str, Any] | None, ctx: Any = None
) -> Next | End:
    """ResultPath then OutputPath, then the transition (JSONPath states with a result).

    ``ctx`` (a StateContext) notes ``afterResultPath`` for inspection.
    """
    placed = place_result(raw_input, result, state.result_path, null=state.result_path_null)
    if ctx is not None:
        ctx.note("afterResultPath", placed)
    output = apply_output_path(state.output_path, state.output_path_null, placed, scope)
    return advance(state, output, assigned)
