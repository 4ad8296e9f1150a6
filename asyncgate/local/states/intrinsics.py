"""Intrinsic function calls (``States.Format('{}', $.name)``): parsed once, evaluated per state.

A call appears as the value of a ``.$`` key in Parameters / ResultSelector / ItemSelector. Arguments
are string literals in single quotes, numbers, ``null``/``true``/``false``, paths (``$.x``, ``$$.x``,
``$var.x``) and nested calls, up to 10 deep. In a string literal the guide reserves ``'``, ``{``, ``}``
and ``\\`` and allows only the escapes ``\\'``, ``\\{``, ``\\}``, ``\\\\``; AWS rejects any other
escape at CreateStateMachine (corpus: ``test_illegal_escapes``), so ``compile_intrinsic`` raises
ValueError for them. Evaluation failures are ``States.IntrinsicFailure``; an argument path that
matches nothing is ``States.Runtime`` with the same wording as a Parameters path.

Example:
    >>> from .scope import Scope
    >>> call = compile_intrinsic("States.Format('Hi {}, \\\\{ok\\\\}', $.name)")
    >>> call.evaluate(Scope(input={"name": "Ana"}))
    'Hi Ana, {ok}'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .errors import StatesError, StatesErrorName
from .intrinsic_functions import FUNCTIONS, Function, format_value, json_dumps
from .jsonpath import JsonPath, PathNotFound, compile_path
from .scope import Scope

__all__ = ["MAX_NESTING", "Intrinsic", "compile_intrinsic", "is_intrinsic", "path_not_found"]

#: "You can nest up to 10 intrinsic functions within a field in your workflows."
MAX_NESTING = 10
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_NAME = re.compile(r"States\.([A-Za-z0-9]+)\(")


def path_not_found(path: str, field: str | None, scope: Scope) -> StatesError:
    """AWS's error for a ``.$`` path that matches nothing (recorded, e.g. test_invalid_jsonpath).

    Example:
        >>> print(path_not_found("$.x", "value.$", Scope(input={"a": 1})).cause)
        The JSONPath '$.x' specified for the field 'value.$' could not be found in the input '{"a":1}'
    """
    return StatesError(
        StatesErrorName.RUNTIME,
        f"The JSONPath '{path}' specified for the field '{field}' could not be found in the input "
        f"'{json_dumps(scope.input)}'",
    )


@dataclass(frozen=True, slots=True)
class _Literal:
    value: Any
    #: for a string literal: the pieces between unescaped ``{}`` (States.Format's template)
    parts: tuple[str, ...] | None = None

    def evaluate(self, scope: Scope, field: str | None) -> Any:
        return self.value


@dataclass(frozen=True, slots=True)
class _Path:
    path: JsonPath

    def evaluate(self, scope: Scope, field: str | None) -> Any:
        try:
            return self.path.resolve(scope)
        except PathNotFound:
            raise path_not_found(self.path.text, field, scope) from None


@dataclass(frozen=True, slots=True)
class _Call:
    function: Function
    args: tuple[_Literal | _Path | _Call, ...]

    def evaluate(self, scope: Scope, field: str | None) -> Any:
        values = [a.evaluate(scope, field) for a in self.args]
        if self.function.name == "States.Format":
            return _format(self.args[0], values)
        return self.function.call(values)


def _format(template_arg: Any, values: list[Any]) -> str:
    template = values[0]
    if not isinstance(template, str):
        raise StatesError(
            StatesErrorName.INTRINSIC_FAILURE,
            "Invalid arguments in States.Format: the template must be a string, but was "
            + json_dumps(template),
        )
    parts = template_arg.parts if isinstance(template_arg, _Literal) and template_arg.parts else None
    pieces = parts if parts is not None else tuple(template.split("{}"))
    args = values[1:]
    if len(pieces) - 1 != len(args):
        raise StatesError(
            StatesErrorName.INTRINSIC_FAILURE,
            f"Invalid arguments in States.Format: the template has {len(pieces) - 1} placeholders "
            f"but {len(args)} arguments were given",
        )
    out = [pieces[0]]
    for arg, piece in zip(args, pieces[1:], strict=True):
        out.append(format_value(arg))
        out.append(piece)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Intrinsic:
    """A compiled intrinsic call. ``field`` (``"key.$"``) names it in path-not-found causes.

    Example:
        >>> compile_intrinsic("States.ArrayLength($.xs)").evaluate(Scope(input={"xs": [1, 2]}))
        2
    """

    text: str
    call: _Call
    field: str | None = None

    def evaluate(self, scope: Scope) -> Any:
        """The call's value; raises StatesError (States.IntrinsicFailure or States.Runtime)."""
        return self.call.evaluate(scope, self.field)


def is_intrinsic(text: str) -> bool:
    """Whether a ``.$`` value is meant as an intrinsic call (it starts with ``States.``)."""
    return text.lstrip().startswith("States.")


@lru_cache(maxsize=2048)
def compile_intrinsic(text: str, field: str | None = None) -> Intrinsic:
    """Parse ``States.Name(args...)``; ValueError (with a reason) when it is malformed.

    Checked here: known function names, argument counts, nesting depth, string escapes, paths, and
    that a literal Format template is a string.
    """
    parser = _Parser(text)
    parser.skip()
    call = parser.call(1)
    parser.skip()
    if parser.pos != len(text):
        raise ValueError(f"Unexpected text after the intrinsic call at position {parser.pos}: {text}")
    return Intrinsic(text, call, field)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def error(self, why: str) -> ValueError:
        return ValueError(f"{why} at position {self.pos}: {self.text}")

    def call(self, depth: int) -> _Call:
        m = _NAME.match(self.text, self.pos)
        if not m:
            raise self.error("Expected an intrinsic function call States.<Name>(...)")
        name = "States." + m.group(1)
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(f"Unknown intrinsic function {name}")
        if depth > MAX_NESTING:
            raise self.error(f"Intrinsic functions can be nested at most {MAX_NESTING} deep")
        self.pos = m.end()
        args: list[_Literal | _Path | _Call] = []
        self.skip()
        if self.text.startswith(")", self.pos):
            self.pos += 1
        else:
            while True:
                self.skip()
                args.append(self.argument(depth))
                self.skip()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith(")", self.pos):
                    self.pos += 1
                    break
                raise self.error("Expected ',' or ')'")
        if len(args) < function.min_args or (function.max_args is not None and len(args) > function.max_args):
            expected = (
                str(function.min_args)
                if function.min_args == function.max_args
                else f"at least {function.min_args}"
                if function.max_args is None
                else f"{function.min_args} to {function.max_args}"
            )
            raise ValueError(f"{name} takes {expected} arguments, but {len(args)} were given: {self.text}")
        if name == "States.Format":
            _check_format(args, self.text)
        return _Call(function, tuple(args))

    def argument(self, depth: int) -> _Literal | _Path | _Call:
        text, pos = self.text, self.pos
        if pos >= len(text):
            raise self.error("Expected an argument")
        ch = text[pos]
        if ch == "'":
            return self.string()
        if ch == "$":
            return _Path(compile_path(self.path_text()))
        if text.startswith("States.", pos):
            return self.call(depth + 1)
        for word, value in (("null", None), ("true", True), ("false", False)):
            if text.startswith(word, pos):
                self.pos += len(word)
                return _Literal(value)
        m = _NUMBER.match(text, pos)
        if m:
            self.pos = m.end()
            is_float = m.group(1) or m.group(2)
            return _Literal(float(m.group()) if is_float else int(m.group()))
        raise self.error("Expected a string, number, null, boolean, path or intrinsic call")

    def string(self) -> _Literal:
        text = self.text
        self.pos += 1
        chars: list[str] = []
        parts: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt not in ("'", "{", "}", "\\"):
                    raise self.error(f"Illegal escape sequence \\{nxt} in a string literal")
                chars.append(nxt)
                self.pos += 2
            elif ch == "'":
                self.pos += 1
                parts.append("".join(chars))
                return _Literal("{}".join(parts), tuple(parts))
            elif ch == "{" and text.startswith("{}", self.pos):
                parts.append("".join(chars))
                chars = []
                self.pos += 2
            else:
                chars.append(ch)
                self.pos += 1
        raise self.error("Unterminated string literal")

    def path_text(self) -> str:
        """A path argument runs to the next top-level ',' or ')' (brackets and quotes may nest)."""
        text, start = self.text, self.pos
        depth = 0
        quote: str | None = None
        pos = start
        while pos < len(text):
            ch = text[pos]
            if quote:
                if ch == "\\":
                    pos += 1
                elif ch == quote:
                    quote = None
            elif ch in "'\"" and depth > 0:
                quote = ch
            elif ch in "[(":
                depth += 1
            elif ch in "])":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and ch in ", \t\r\n":
                break
            pos += 1
        self.pos = pos
        return text[start:pos]


def _check_format(args: list[_Literal | _Path | _Call], text: str) -> None:
    """A literal template must be a string. Its placeholder count is checked when it runs, not here:
    the guide's own nesting example passes three ``{}`` and two arguments."""
    first = args[0]
    if isinstance(first, _Literal) and not isinstance(first.value, str):
        raise ValueError(f"The first argument of States.Format must be a string: {text}")
