"""``Fail``: ends the machine with Error and Cause, which may come from paths or JSONata.

Spec: "The Fail State terminates the machine and marks it as a failure"; ``ErrorPath`` and
``CausePath`` may be paths, context paths, variables or intrinsic functions (dev guide). A path that
selects nothing is ``States.Runtime`` worded as AWS records it ("The JSONPath '$.ErrorX' specified for
the field 'ErrorPath' could not be found in the input '...'").

Example:
    >>> import asyncio
    >>> from .model import FailState
    >>> class Ctx:
    ...     def scope(self, value): from .scope import Scope; return Scope(input=value)
    ...     def note(self, step, value): pass
    >>> asyncio.run(run(FailState(name="F", error="E", cause="C"), {}, Ctx()))
    Failed(error='E', cause='C')
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..jsontext import compact
from .errors import StatesError, StatesErrorName
from .jsonpath import JsonPath, PathNotFound
from .model import Failed, FailState, QueryLanguage, Transition
from .scope import Scope

if TYPE_CHECKING:
    from .state_context import StateContext

__all__ = ["run"]


async def run(state: FailState, value: Any, ctx: StateContext) -> Transition:
    """Fail with the state's error and cause."""
    scope = ctx.scope(value)
    if state.query_language is QueryLanguage.JSONATA:
        error = state.error_expr.render(scope) if state.error_expr is not None else state.error
        cause = state.cause_expr.render(scope) if state.cause_expr is not None else state.cause
        return Failed(_text(error), _text(cause))
    # Fail has no InputPath; TestState still shows its input as afterInputPath (recorded, TRACE)
    ctx.note("afterInputPath", value)
    error = _from_path(state.error_path, "ErrorPath", scope) if state.error_path is not None else state.error
    cause = _from_path(state.cause_path, "CausePath", scope) if state.cause_path is not None else state.cause
    return Failed(_text(error), _text(cause))


def _from_path(path: Any, field: str, scope: Scope) -> Any:
    if isinstance(path, JsonPath):
        try:
            return path.resolve(scope)
        except PathNotFound:
            raise StatesError(
                StatesErrorName.RUNTIME,
                f"The JSONPath '{path.text}' specified for the field '{field}' could not be found in the "
                f"input '{json.dumps(scope.input, separators=(',', ':'), ensure_ascii=False)}'",
            ) from None
    return path.render(scope)["v"]  # an intrinsic function, compiled as {"v.$": ...}


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return compact(value)
