"""Choice Rules compiled once: comparisons, ``Is*`` tests, And/Or/Not, and JSONata ``Condition``.

The spec: "A Choice Rule ... MUST contain exactly one field whose name is a comparison operator", with
a ``Variable`` path whose value is compared to the operator's operand (or, for ``...Path`` operators,
to the value at another path). A value of the wrong type makes the comparison false ("type mismatch
=> false"; corpus choice_operators: ``StringEquals`` against ``0`` is false). ``IsPresent`` is false
for a path that matches nothing; for every other operator a missing ``Variable`` is
``States.Runtime`` ("Invalid path '$.x': The choice state's condition path references an invalid
value."). Under JSONata a rule is ``{"Condition": "{% ... %}"}`` and must evaluate to a boolean.

Malformed rules raise ``InvalidChoiceRule`` (a ValueError) with the SCHEMA_VALIDATION_FAILED wording
the engine uses elsewhere; ``pointer`` locates the problem inside the rule.

Example:
    >>> both = [{"Variable": "$.n", "NumericGreaterThan": 1}, {"Variable": "$.s", "StringMatches": "a*"}]
    >>> rule = compile_choice_rule({"And": both}, query_language="JSONPath")
    >>> rule.matches(Scope(input={"n": 2, "s": "abc"}))
    True
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..jsontext import compact
from .errors import StatesError, StatesErrorName
from .jsonata import JsonataExpr, compile_jsonata, is_jsonata_expression, query_error
from .jsonpath import JsonPath, PathNotFound, compile_path, type_name
from .scope import Scope

__all__ = [
    "ChoiceRule",
    "InvalidChoiceRule",
    "compile_choice_rule",
    "condition_path_error",
    "parse_timestamp",
]


class InvalidChoiceRule(ValueError):  # noqa: N818 - reads as AWS's InvalidDefinition
    """A rule CreateStateMachine would reject; ``pointer`` is relative to the rule (``/And/0``)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


def condition_path_error(path: str) -> StatesError:
    """The States.Runtime error for a Choice path that matches nothing."""
    return StatesError(
        StatesErrorName.RUNTIME,
        f"Invalid path '{path}': The choice state's condition path references an invalid value.",
    )


_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timestamp(value: Any) -> tuple[int, int] | None:
    """An RFC 3339 timestamp as (epoch seconds, nanoseconds), or None when it is not one.

    AWS accepts ``2016-03-14T01:59:00Z``, offsets (``+01:00``) and fractions; it rejects a space for
    ``T``, a missing zone, and impossible dates (corpus: Wait ``Timestamp`` validation cases).

    Example:
        >>> parse_timestamp("2012-10-09T19:00:55+01:00"), parse_timestamp("2016-12-05T21:29:29")
        ((1349805655, 0), None)
    """
    if not isinstance(value, str):
        return None
    m = _TIMESTAMP.match(value)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    offset = 0
    if m.group(9):
        oh, om = int(m.group(10)), int(m.group(11))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * (1 if m.group(9) == "+" else -1)
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(minutes=offset)))
    except ValueError:
        return None
    delta = moment - _EPOCH
    nanos = int((m.group(7) or "0")[:9].ljust(9, "0"))
    return delta.days * 86400 + delta.seconds, nanos


class ChoiceRule:
    """A compiled Choice Rule: ``matches(scope)`` says whether its branch is taken.

    Raises StatesError: States.Runtime for a missing path, States.QueryEvaluationError for a JSONata
    Condition that fails or is not a boolean.
    """

    __slots__ = ()

    def matches(self, scope: Scope) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _And(ChoiceRule):
    rules: tuple[ChoiceRule, ...]

    def matches(self, scope: Scope) -> bool:
        return all(r.matches(scope) for r in self.rules)


@dataclass(frozen=True, slots=True)
class _Or(ChoiceRule):
    rules: tuple[ChoiceRule, ...]

    def matches(self, scope: Scope) -> bool:
        return any(r.matches(scope) for r in self.rules)


@dataclass(frozen=True, slots=True)
class _Not(ChoiceRule):
    rule: ChoiceRule

    def matches(self, scope: Scope) -> bool:
        return not self.rule.matches(scope)


def _resolve(path: JsonPath, scope: Scope) -> Any:
    try:
        return path.resolve(scope)
    except PathNotFound:
        raise condition_path_error(path.text) from None


@dataclass(frozen=True, slots=True)
class _IsPresent(ChoiceRule):
    variable: JsonPath
    expected: bool

    def matches(self, scope: Scope) -> bool:
        try:
            self.variable.resolve(scope)
        except PathNotFound:
            return not self.expected
        return self.expected


@dataclass(frozen=True, slots=True)
class _Is(ChoiceRule):
    variable: JsonPath
    test: Callable[[Any], bool]
    expected: bool

    def matches(self, scope: Scope) -> bool:
        return self.test(_resolve(self.variable, scope)) is self.expected


@dataclass(frozen=True, slots=True)
class _Compare(ChoiceRule):
    variable: JsonPath
    #: (variable value, operand value) -> bool; False on a type mismatch
    test: Callable[[Any, Any], bool]
    operand: Any
    operand_path: JsonPath | None

    def matches(self, scope: Scope) -> bool:
        value = _resolve(self.variable, scope)
        operand = self.operand if self.operand_path is None else _resolve(self.operand_path, scope)
        return self.test(value, operand)


@dataclass(frozen=True, slots=True)
class _Condition(ChoiceRule):
    expr: JsonataExpr | None
    constant: bool

    def matches(self, scope: Scope) -> bool:
        if self.expr is None:
            return self.constant
        value = self.expr.evaluate(scope)
        if not isinstance(value, bool):
            raise query_error(
                f"The JSONata expression '{self.expr.text}' specified for the field 'Condition' returned an "
                f"unexpected result type. Expected 'boolean', but was '{type_name(value)}' for value: "
                + compact(value)
            )
        return value


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _typed(check: Callable[[Any], bool], op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: check(a) and check(b) and bool(op(a, b))


def _timestamps(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        ta, tb = parse_timestamp(a), parse_timestamp(b)
        return ta is not None and tb is not None and bool(op(ta, tb))

    return test


def _timestamp_vs_parsed(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def test(a: Any, parsed: Any) -> bool:
        ta = parse_timestamp(a)
        return ta is not None and bool(op(ta, parsed))

    return test


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_timestamp(v: Any) -> bool:
    return parse_timestamp(v) is not None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}

#: operator -> (test, operand check for literals, the type named in validation messages)
_COMPARISONS: dict[str, tuple[Callable[[Any, Any], bool], Callable[[Any], bool], str]] = {}
for _suffix, _op in _ORDER.items():
    _COMPARISONS["String" + _suffix] = (_typed(_is_str, _op), _is_str, "STRING")
    _COMPARISONS["Numeric" + _suffix] = (_typed(_is_number, _op), _is_number, "NUMBER")
    _COMPARISONS["Timestamp" + _suffix] = (
        _timestamps(_op),
        lambda v: parse_timestamp(v) is not None,
        "TIMESTAMP",
    )
_COMPARISONS["BooleanEquals"] = (_typed(_is_bool, operator.eq), _is_bool, "BOOLEAN")

_IS_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": _is_str,
    "IsBoolean": _is_bool,
    "IsTimestamp": _is_timestamp,
}


def _matcher(pattern: str) -> Callable[[Any, Any], bool]:
    """StringMatches: ``*`` matches any run of characters; ``\\*`` and ``\\\\`` are literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "*\\":
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else re.escape(ch))
        i += 1
    regex = re.compile("".join(out), re.DOTALL)
    return lambda value, _: isinstance(value, str) and regex.fullmatch(value) is not None


_OPERATORS = frozenset(
    {*_COMPARISONS, *(k + "Path" for k in _COMPARISONS), *_IS_TESTS, "IsPresent", "StringMatches"}
)


def _path(value: Any, pointer: str) -> JsonPath:
    if not isinstance(value, str):
        raise InvalidChoiceRule("Expected value of type: STRING", pointer)
    try:
        return compile_path(value)
    except ValueError:
        raise InvalidChoiceRule("Value is not a valid path", pointer) from None


def compile_choice_rule(rule: dict[str, Any], *, query_language: str) -> ChoiceRule:
    """Compile one Choice Rule (``Next``/``Assign``/``Output``/``Comment`` already removed by the caller).

    ``query_language`` is ``"JSONPath"`` or ``"JSONata"``. Raises InvalidChoiceRule when malformed.
    """
    if query_language == "JSONata":
        return _compile_jsonata(rule)
    return _compile(rule, "")


def _compile_jsonata(rule: dict[str, Any]) -> ChoiceRule:
    extra = [k for k in rule if k not in ("Condition", "Comment")]
    if extra:
        raise InvalidChoiceRule(f"The field '{extra[0]}' is not supported for the query language JSONata")
    if "Condition" not in rule:
        raise InvalidChoiceRule("These fields are required: [Condition]")
    cond = rule["Condition"]
    if isinstance(cond, bool):
        return _Condition(None, cond)
    if not is_jsonata_expression(cond):
        raise InvalidChoiceRule("The Condition must be a JSONata expression or a boolean", "/Condition")
    try:
        return _Condition(compile_jsonata(cond[2:-2].strip(), "Condition"), False)
    except ValueError as exc:
        raise InvalidChoiceRule(str(exc), "/Condition") from None


def _compile(rule: Any, at: str) -> ChoiceRule:
    if not isinstance(rule, dict):
        raise InvalidChoiceRule("Expected value of type: OBJECT", at)
    fields = {k: v for k, v in rule.items() if k != "Comment"}
    if "Condition" in fields:
        raise InvalidChoiceRule("The field 'Condition' is not supported for the query language JSONPath", at)
    for key in ("And", "Or"):
        if key in fields:
            if len(fields) != 1:
                raise InvalidChoiceRule(f"Field '{next(k for k in fields if k != key)}' is not supported", at)
            subs = fields[key]
            if not isinstance(subs, list) or not subs:
                raise InvalidChoiceRule("Expected value of type: non-empty ARRAY", f"{at}/{key}")
            rules = tuple(_compile(r, f"{at}/{key}/{i}") for i, r in enumerate(subs))
            return _And(rules) if key == "And" else _Or(rules)
    if "Not" in fields:
        if len(fields) != 1:
            raise InvalidChoiceRule(f"Field '{next(k for k in fields if k != 'Not')}' is not supported", at)
        return _Not(_compile(fields["Not"], f"{at}/Not"))
    unknown = [k for k in fields if k != "Variable" and k not in _OPERATORS]
    if unknown:
        raise InvalidChoiceRule(f"Field '{unknown[0]}' is not supported", at)
    ops = [k for k in fields if k in _OPERATORS]
    if "Variable" not in fields:
        raise InvalidChoiceRule("These fields are required: [Variable]", at)
    if len(ops) != 1:
        raise InvalidChoiceRule("A Choice Rule must have exactly one comparison operator", at)
    variable = _path(fields["Variable"], f"{at}/Variable")
    op, operand = ops[0], fields[ops[0]]
    where = f"{at}/{op}"
    if op == "IsPresent" or op in _IS_TESTS:
        if not isinstance(operand, bool):
            raise InvalidChoiceRule("Expected value of type: BOOLEAN", where)
        if op == "IsPresent":
            return _IsPresent(variable, operand)
        return _Is(variable, _IS_TESTS[op], operand)
    if op == "StringMatches":
        if not isinstance(operand, str):
            raise InvalidChoiceRule("Expected value of type: STRING", where)
        return _Compare(variable, _matcher(operand), operand, None)
    if op.endswith("Path"):
        return _Compare(variable, _COMPARISONS[op[:-4]][0], None, _path(operand, where))
    test, check, kind = _COMPARISONS[op]
    if not check(operand):
        raise InvalidChoiceRule(
            "String does not match RFC3339 timestamp"
            if kind == "TIMESTAMP"
            else f"Expected value of type: {kind}",
            where,
        )
    if kind == "TIMESTAMP":  # parse the literal once
        return _Compare(variable, _timestamp_vs_parsed(_ORDER[op[9:]]), parse_timestamp(operand), None)
    return _Compare(variable, test, operand, None)
