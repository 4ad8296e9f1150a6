"""JSONata expressions (``{% ... %}``) as Step Functions evaluates them, on jsonata-python.

Each expression is parsed once (~40 µs) and evaluated per state (~20 µs for a simple path). It sees
``$states`` = ``{input, context, result?, errorOutput?}`` and every workflow variable as ``$name``;
there is no ``$`` context (the guide: "you cannot use ``$`` or ``$$`` at the top level"), so a bare
field name is undefined. Step Functions adds ``$partition``, ``$range``, ``$hash``, ``$random([seed])``,
``$uuid`` and ``$parse``, and does not offer ``$eval``.

Failures are ``States.QueryEvaluationError`` with AWS's recorded causes (the engine prefixes "An
error occurred while executing the state ..."), e.g. ``The JSONata expression '$doesNotExist'
specified for the field 'Output/result' returned nothing (undefined).`` and ``... threw an error
during evaluation. T1006: Attempted to invoke a non-function``.

Results are plain JSON values: jsonata's sequences become lists, integral floats ints (AWS prints
``7``, not ``7.0``), and a function result is "an unsupported result type".

Example:
    >>> t = compile_template({"total": "{% $sum($states.input.xs) + $bonus %}", "k": " {% kept %} "})
    >>> t.render(Scope(input={"xs": [1, 2]}, variables={"bonus": 4}))
    {'total': 7, 'k': ' {% kept %} '}
"""

from __future__ import annotations

import json
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonata as _jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from .errors import StatesError, StatesErrorName
from .intrinsic_functions import FUNCTIONS
from .scope import Scope

__all__ = [
    "UNDEFINED",
    "JsonataExpr",
    "Template",
    "compile_jsonata",
    "compile_template",
    "is_jsonata_expression",
    "query_error",
]


class _Undefined:
    def __repr__(self) -> str:
        return "UNDEFINED"


#: what ``JsonataExpr.evaluate(..., allow_undefined=True)`` returns when the expression yields nothing
UNDEFINED: Any = _Undefined()


def is_jsonata_expression(value: Any) -> bool:
    """A string that starts with ``{%`` and ends with ``%}`` exactly (AWS trims nothing).

    Example:
        >>> is_jsonata_expression("{% $states.input %}"), is_jsonata_expression(" {% states.input %} ")
        (True, False)
    """
    return isinstance(value, str) and len(value) >= 4 and value.startswith("{%") and value.endswith("%}")


def query_error(cause: str) -> StatesError:
    """A ``States.QueryEvaluationError`` with ``cause``."""
    return StatesError(StatesErrorName.QUERY_EVALUATION_ERROR, cause)


class _FunctionError(Exception):
    """Raised by the Step Functions-added functions; shown as the evaluation error's message."""


def _intrinsic(name: str, alias: str) -> Callable[..., Any]:
    fn = FUNCTIONS[name]

    def call(*args: Any) -> Any:
        if not fn.min_args <= len(args) <= (fn.max_args or len(args)):
            raise _FunctionError(f"{alias} takes {fn.min_args} arguments, but {len(args)} were given")
        try:
            return fn.call([_to_json(a) for a in args])
        except StatesError as exc:
            raise _FunctionError((exc.cause or "").replace(name, alias)) from None

    return call


def _random(*args: Any) -> float:
    if args and args[0] is not None:
        return random.Random(_to_json(args[0])).random()
    return random.random()


def _parse(*args: Any) -> Any:
    if len(args) != 1 or not isinstance(args[0], str):
        raise _FunctionError("$parse expects one string argument")
    try:
        return json.loads(args[0])
    except ValueError:
        raise _FunctionError(f"$parse could not parse the string as JSON: {args[0]}") from None


def _eval(*args: Any) -> Any:
    raise _FunctionError("The $eval function is not supported by Step Functions; use $parse")


#: the functions Step Functions adds to JSONata (and $eval, which it removes)
_AWS_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _intrinsic("States.ArrayPartition", "$partition"),
    "range": _intrinsic("States.ArrayRange", "$range"),
    "hash": _intrinsic("States.Hash", "$hash"),
    "random": _random,
    "uuid": lambda *a: str(uuid.uuid4()),
    "parse": _parse,
    "eval": _eval,
}


def _to_json(value: Any) -> Any:
    """jsonata-python's value as plain JSON; raises TypeError for functions (not JSON)."""
    if value is None or value is Utils.NULL_VALUE:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _FunctionError(f"D1001: Number out of range: {value}")
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if isinstance(value, list):
        return [_to_json(v) for v in value]  # sequences (JList) too
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    raise TypeError(type(value).__name__)


def _to_jsonata(value: Any) -> Any:
    return Utils.NULL_VALUE if value is None else value


@dataclass(frozen=True, slots=True)
class JsonataExpr:
    """A compiled expression; ``field`` (``"Output/result"``) names it in error causes.

    Example:
        >>> compile_jsonata("$states.input.a * 2").evaluate(Scope(input={"a": 1.5}))
        3
    """

    text: str
    field: str | None
    _compiled: Any
    #: ``$states.input.a.b`` / ``$name.a``: (root, field names), read without jsonata (~1 µs, not ~30)
    _fast: tuple[str, tuple[str, ...]] | None = None

    def evaluate(self, scope: Scope, *, allow_undefined: bool = False) -> Any:
        """The value; StatesError(States.QueryEvaluationError) on errors and (unless allowed) undefined."""
        if self._fast is not None:
            value = _lookup(self._fast, scope)
            if value is not _FALLBACK:
                return self._finish(value, allow_undefined)
        states: dict[str, Any] = {"input": scope.input, "context": scope.context}
        if scope.result is not None:
            states["result"] = scope.result
        if scope.error_output is not None:
            states["errorOutput"] = scope.error_output
        bindings: dict[str, Any] = {k: _to_jsonata(v) for k, v in scope.variables.items()}
        bindings["states"] = states
        try:
            raw = self._compiled.evaluate(None, bindings)
        except JException as exc:
            raise query_error(
                f"{self._where()} threw an error during evaluation. {exc.error}: {exc}"
            ) from None
        except _FunctionError as exc:
            raise query_error(f"{self._where()} threw an error during evaluation. {exc}") from None
        except RecursionError:
            raise query_error(
                f"{self._where()} threw an error during evaluation. U1001: Stack overflow error"
            ) from None
        except (ZeroDivisionError, OverflowError):  # JSONata (JavaScript) makes Infinity, then D1001
            raise self._threw("D1001: Number out of range") from None
        except Exception as exc:  # jsonata-python's own failures
            raise self._threw(str(exc)) from None
        return self._finish(raw, allow_undefined)

    def _finish(self, raw: Any, allow_undefined: bool) -> Any:
        if raw is None:
            if allow_undefined:
                return UNDEFINED
            raise query_error(f"{self._where()} returned nothing (undefined).")
        try:
            return _to_json(raw)
        except TypeError:
            raise query_error(f"{self._where()} returned an unsupported result type.") from None
        except _FunctionError as exc:
            raise query_error(f"{self._where()} threw an error during evaluation. {exc}") from None

    def _threw(self, why: str) -> StatesError:
        return query_error(f"{self._where()} threw an error during evaluation. {why}")

    def _where(self) -> str:
        if self.field is None:
            return f"The JSONata expression '{self.text}'"
        return f"The JSONata expression '{self.text}' specified for the field '{self.field}'"


_FALLBACK: Any = object()
_SIMPLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")


def _lookup(fast: tuple[str, tuple[str, ...]], scope: Scope) -> Any:
    """A simple path read directly: None for undefined, _FALLBACK when jsonata must decide (arrays)."""
    root, names = fast
    if root == "states":
        if not names:
            return _FALLBACK
        first, names = names[0], names[1:]
        if first == "input":
            cur = scope.input
        elif first == "context":
            cur = scope.context
        elif first == "result" and scope.result is not None:
            cur = scope.result
        elif first == "errorOutput" and scope.error_output is not None:
            cur = scope.error_output
        else:
            return None
    else:
        if root not in scope.variables:
            return _FALLBACK  # a function name, or jsonata's own binding
        cur = scope.variables[root]
    for name in names:
        if type(cur) is dict:
            if name not in cur:
                return None
            cur = cur[name]
        elif type(cur) is list:
            return _FALLBACK  # jsonata maps a path over arrays
        else:
            return None
    return Utils.NULL_VALUE if cur is None else cur


@lru_cache(maxsize=2048)
def _parse_expr(text: str) -> Any:
    try:
        compiled = _jsonata.Jsonata(text)
    except JException as exc:
        raise ValueError(f"Invalid JSONata expression '{text}': {exc.error}: {exc}") from None
    except Exception as exc:  # the parser's own failures
        raise ValueError(f"Invalid JSONata expression '{text}': {exc}") from None
    compiled.set_output_convert_nulls(False)
    for name, fn in _AWS_FUNCTIONS.items():
        compiled.register_lambda(name, fn)
    return compiled


def compile_jsonata(text: str, field: str | None = None) -> JsonataExpr:
    """Compile an expression given without its ``{% %}``; ValueError if it does not parse.

    Compiled expressions are cached by text, so compiling the same text for many fields is cheap.
    """
    m = _SIMPLE.fullmatch(text.strip())
    fast = (m.group(1), tuple(m.group(2).split(".")[1:])) if m else None
    return JsonataExpr(text, field, _parse_expr(text), fast)


def _strip(value: str) -> str:
    return value[2:-2].strip()


@dataclass(frozen=True, slots=True)
class Template:
    """A JSONata-mode value (Arguments, Output, Assign, Items, ...) with ``{% %}`` strings anywhere.

    Example:
        >>> compile_template(["{% $x %}", 2], field="Items").render(Scope(input={}, variables={"x": 1}))
        [1, 2]
    """

    template: Any
    _render: Callable[[Scope], Any]
    #: True when the template contains no expression (render returns a fresh copy of it)
    is_constant: bool

    def render(self, scope: Scope) -> Any:
        """The value in ``scope``; raises StatesError(States.QueryEvaluationError)."""
        return self._render(scope)


def compile_template(value: Any, field: str | None = None) -> Template:
    """Compile a JSONata-mode field value; ``field`` names it in causes (``"Output"``, ``"Arguments"``).

    Nested expressions are named ``<field>/<key>`` (recorded: ``'Output/result'``,
    ``'Arguments/FunctionName'``); array items ``<field>/<index>``.
    """
    render, constant = _compile(value, field)
    return Template(value, render, constant)


def _join(field: str | None, key: str) -> str:
    return key if not field else f"{field}/{key}"


def _compile(value: Any, field: str | None) -> tuple[Callable[[Scope], Any], bool]:
    if is_jsonata_expression(value):
        return compile_jsonata(_strip(value), field).evaluate, False
    if isinstance(value, dict):
        fields = tuple((k, *_compile(v, _join(field, k))) for k, v in value.items())
        constant = all(c for _, _, c in fields)
        pairs = tuple((k, r) for k, r, _ in fields)
        return (lambda scope: {k: r(scope) for k, r in pairs}), constant
    if isinstance(value, list):
        items = tuple(_compile(v, _join(field, str(i))) for i, v in enumerate(value))
        renders = tuple(r for r, _ in items)
        return (lambda scope: [r(scope) for r in renders]), all(c for _, c in items)
    return (lambda scope: value), True
