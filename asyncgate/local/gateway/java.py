"""Java value semantics for mapping templates: printing, equality, and the methods VTL may call.

API Gateway runs Velocity on the JVM, so a template sees Java objects: ``$map`` prints as
``{foo=bar}`` (``LinkedHashMap.toString``), a JSON array from ``$input.path`` prints as compact JSON
(json-smart's ``JSONArray``), ``"a".replaceAll("(a)", "[$1]")`` uses Java's regex replacement syntax,
and ``$x == ""`` compares the two sides' ``toString()`` when their classes differ. airspeed-ext only
runs Velocity's syntax over Python objects, so this module supplies those semantics, and nothing else:
templates reach Python values only through the method tables below (see ``vtl.py``), never through
``getattr``.

Example:
    >>> java_str(JavaMap({"a": 1, "b": JsonArray([{"c": None}])}))
    '{a=1, b=[{"c":null}]}'
    >>> call_method("abc", "replaceAll", ["(b)", "[$1]"])
    'a[b]c'
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = [
    "JavaMap",
    "JsonArray",
    "MapEntry",
    "call_method",
    "java_arith",
    "java_equals",
    "java_str",
    "to_java",
]


class JavaMap(dict):  # type: ignore[type-arg]
    """A ``java.util.Map``: prints as ``{k=v, k2=v2}``.

    Example:
        >>> str(JavaMap({"foo": "bar"}))
        '{foo=bar}'
    """

    __slots__ = ()

    def __str__(self) -> str:
        return "{" + ", ".join(f"{java_str(k)}={java_str(v)}" for k, v in self.items()) + "}"


class JsonArray(list):  # type: ignore[type-arg]
    """A json-smart ``JSONArray`` (what ``$input.path`` gives for arrays): prints as compact JSON.

    Example:
        >>> str(JsonArray([{"foo": "bar"}]))
        '[{"foo":"bar"}]'
    """

    __slots__ = ()

    def __str__(self) -> str:
        return json.dumps(self, separators=(",", ":"), ensure_ascii=False, default=str)


class MapEntry(dict):  # type: ignore[type-arg]
    """A ``Map.Entry`` from ``entrySet()``: ``$e.key``, ``$e.value``; prints ``k=v``."""

    __slots__ = ()

    def __str__(self) -> str:
        return f"{java_str(self['key'])}={java_str(self['value'])}"


def to_java(value: Any) -> Any:
    """Parsed JSON as the Java objects API Gateway's JSONPath returns (maps and JSON arrays).

    Example:
        >>> type(to_java({"a": [1]})["a"]).__name__
        'JsonArray'
    """
    if isinstance(value, dict):
        return JavaMap({k: to_java(v) for k, v in value.items()})
    if isinstance(value, list):
        return JsonArray(to_java(v) for v in value)
    return value


def _double_str(value: float) -> str:
    """``Double.toString``: ``1.0``, ``249.99``, ``1.0E20``, ``1.0E-5``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    magnitude = abs(value)
    if magnitude == 0 or 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    _, digits, exponent = Decimal(repr(value)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    sci = len(digits) + int(exponent) - 1
    return f"{'-' if value < 0 else ''}{text[0]}.{text[1:] or '0'}E{sci}"


def java_str(value: Any) -> str:
    """``String.valueOf(value)`` as Velocity prints it.

    Example:
        >>> java_str([1, "a", None]), java_str(True), java_str(1e20)
        ('[1, a, null]', 'true', '1.0E20')
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_str(value)
    if isinstance(value, JavaMap | JsonArray | MapEntry):
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_str(k)}={java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple | range):
        return "[" + ", ".join(java_str(v) for v in value) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def java_equals(left: Any, right: Any) -> bool:
    """Velocity's ``==``: numbers by value, same classes by ``equals``, else by ``toString()``.

    API Gateway also treats null as equal to ``""`` (recorded: ``$missing == ""`` is true).

    Example:
        >>> java_equals(None, ""), java_equals(1, 1.0), java_equals([], "")
        (True, True, False)
    """
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if left is None or right is None:
        other = right if left is None else left
        return other is None or other == ""
    if type(left) is type(right) or (isinstance(left, dict) and isinstance(right, dict)):
        return bool(left == right)
    if isinstance(left, list) and isinstance(right, list):
        return bool(left == right)
    return java_str(left) == java_str(right)


def java_compare(op: str) -> Callable[[Any, Any], bool]:
    """Velocity 1.7's ``<``, ``<=``, ``>``, ``>=`` (``ASTLTNode`` and siblings): numbers only; a null
    or any other operand is logged by Velocity and compares false, it does not fail the template.

    Example:
        >>> gt = java_compare(">")
        >>> gt(2, 1), gt(None, 1), gt("b", "a"), gt(1.5, 1)
        (True, False, False, True)
    """
    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]

    def apply(left: Any, right: Any) -> bool:
        return _is_number(left) and _is_number(right) and bool(compare(left, right))

    return apply


def java_arith(op: str) -> Callable[[Any, Any], Any]:
    """Velocity arithmetic: numbers only (anything else gives null); int division truncates. ``+``
    with a string on either side concatenates, as Velocity 1.7's ``ASTAddNode`` does (null: null).

    Example:
        >>> plus = java_arith("+")
        >>> plus("a", "b"), plus("a", 1), plus(1, 2), plus(None, "a"), plus([1], 2)
        ('ab', 'a1', 3, None, None)
    """

    def apply(left: Any, right: Any) -> Any:
        if not (_is_number(left) and _is_number(right)):
            if op == "+" and left is not None and right is not None and (
                isinstance(left, str) or isinstance(right, str)
            ):
                return java_str(left) + java_str(right)
            return None
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if right == 0:
            return None  # Velocity logs and yields null on division by zero
        if op == "/":
            if isinstance(left, int) and isinstance(right, int):
                return int(left / right) if abs(left) < 2**52 else (abs(left) // abs(right)) * (
                    1 if (left < 0) == (right < 0) else -1
                )
            return left / right
        return math.fmod(left, right) if isinstance(left, float) or isinstance(right, float) else (
            left - right * int(left / right)
        )

    return apply


# -- Java regex and replacement syntax ----------------------------------------------------------------
_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z][A-Za-z0-9]*)>")
_BACKREF = re.compile(r"\\k<([A-Za-z][A-Za-z0-9]*)>")


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    # Java and Python agree on the common syntax (Python 3.11 has possessive quantifiers and atomic
    # groups too); named groups are spelled differently. \p{..} classes are not translated: a template
    # using them fails with a 500, as a bad pattern would on AWS.
    return re.compile(_BACKREF.sub(r"(?P=\1)", _NAMED_GROUP.sub(r"(?P<\1>", pattern)))


@lru_cache(maxsize=1024)
def _replacement(repl: str) -> Callable[[re.Match[str]], str]:
    """Java's ``Matcher.appendReplacement``: ``$1``/``${name}`` are groups, ``\\x`` is a literal x."""
    parts: list[tuple[bool, str | int]] = []  # (is_group, literal text or group)
    literal: list[str] = []
    i = 0
    while i < len(repl):
        ch = repl[i]
        if ch == "\\":
            if i + 1 >= len(repl):
                raise ValueError("character to be escaped is missing")
            literal.append(repl[i + 1])
            i += 2
            continue
        if ch != "$":
            literal.append(ch)
            i += 1
            continue
        parts.append((False, "".join(literal)))
        literal = []
        if repl.startswith("{", i + 1):
            end = repl.index("}", i)
            parts.append((True, repl[i + 2 : end]))
            i = end + 1
            continue
        j = i + 1
        while j < len(repl) and repl[j].isdigit():
            j += 1
        if j == i + 1:
            raise ValueError("Illegal group reference")
        parts.append((True, int(repl[i + 1 : j])))
        i = j
    parts.append((False, "".join(literal)))

    def expand(match: re.Match[str]) -> str:
        return "".join((match.group(p) or "") if group else str(p) for group, p in parts)

    return expand


#: characters that mean something unescaped in a Java (and Python) regex
_REGEX_META = frozenset(".^$*+?{}[]|()\\")


@lru_cache(maxsize=1024)
def _literal_replacement(pattern: str, repl: str) -> tuple[str, str] | None:
    """(text, replacement) when ``pattern`` only matches itself and ``repl`` names no group, else None.

    Such a ``replaceAll`` is a plain ``str.replace``: the seed's ``replaceAll("\\\\'", "'")`` on every
    request. A backslash before a character that is not a letter or digit quotes it, in Java as in
    Python; anything else (classes, groups, quantifiers, ``\\d``...) takes the regex path.
    """
    text: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1].isalnum() or not pattern[i + 1].isascii():
                return None
            text.append(pattern[i + 1])
            i += 2
            continue
        if ch in _REGEX_META:
            return None
        text.append(ch)
        i += 1
    if not text or "$" in repl or "\\" in repl:
        return None
    return "".join(text), repl


def _replace(s: str, pattern: Any, repl: Any, count: int) -> str:
    """``String.replaceAll`` (count 0) / ``replaceFirst`` (count 1) with Java's regex and replacement."""
    if isinstance(pattern, str) and isinstance(repl, str):
        literal = _literal_replacement(pattern, repl)
        if literal is not None:
            return s.replace(literal[0], literal[1], count or -1)
    return _regex(pattern).sub(_replacement(repl), s, count=count)


def _split(text: str, pattern: str, limit: int = 0) -> list[str]:
    pieces = _regex(pattern).split(text, maxsplit=max(limit - 1, 0)) if limit > 0 else _regex(
        pattern
    ).split(text)
    pieces = [p for p in pieces if p is not None]
    if limit == 0:
        while pieces and pieces[-1] == "":
            pieces.pop()
    return pieces


def _index_of(seq: Any, item: Any, start: int = 0) -> int:
    try:
        return int(seq.index(item, start))
    except ValueError:
        return -1


def _put(target: dict[Any, Any], key: Any, value: Any) -> Any:
    previous = target.get(key)
    target[key] = value
    return previous


def _set(target: list[Any], index: int, value: Any) -> Any:
    previous = target[index]
    target[index] = value
    return previous


def _map_get(target: dict[Any, Any], key: Any) -> Any:
    try:
        return target[key]
    except KeyError:
        return None


_STRING: dict[str, Callable[..., Any]] = {
    "length": len,
    "isEmpty": lambda s: len(s) == 0,
    "replaceAll": lambda s, p, r: _replace(s, p, r, 0),
    "replaceFirst": lambda s, p, r: _replace(s, p, r, 1),
    "replace": lambda s, a, b: s.replace(java_str(a), java_str(b)),
    "matches": lambda s, p: _regex(p).fullmatch(s) is not None,
    "split": _split,
    "startsWith": lambda s, p, offset=0: s.startswith(p, offset),
    "endsWith": lambda s, p: s.endswith(p),
    "contains": lambda s, p: java_str(p) in s,
    "indexOf": lambda s, p, start=0: _index_of(s, java_str(p), start),
    "lastIndexOf": lambda s, p: s.rfind(java_str(p)),
    "substring": lambda s, start, end=None: s[start:end] if 0 <= start <= len(s) else None,
    "charAt": lambda s, i: s[i],
    "toLowerCase": str.lower,
    "toUpperCase": str.upper,
    "trim": lambda s: s.strip("".join(chr(c) for c in range(33))),
    "concat": lambda s, other: s + java_str(other),
    "equals": lambda s, other: s == other,
    "equalsIgnoreCase": lambda s, other: isinstance(other, str) and s.lower() == other.lower(),
    "toString": lambda s: s,
}
_LIST: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda s: len(s) == 0,
    "get": lambda s, i: s[i],
    "contains": lambda s, v: v in s,
    "indexOf": _index_of,
    "add": lambda s, v: s.append(v) or True,
    "addAll": lambda s, vs: s.extend(vs) or True,
    "set": _set,
    "remove": lambda s, i: s.pop(i),
    "toString": java_str,
}
_MAP: dict[str, Callable[..., Any]] = {
    "size": len,
    "isEmpty": lambda m: len(m) == 0,
    "get": _map_get,
    "put": _put,
    "putAll": lambda m, other: m.update(other),
    "containsKey": lambda m, k: k in m,
    "containsValue": lambda m, v: v in m.values(),
    "keySet": lambda m: list(m.keys()),
    "entrySet": lambda m: [MapEntry(key=k, value=v) for k, v in m.items()],
    "values": lambda m: list(m.values()),
    "remove": lambda m, k: m.pop(k, None),
    "toString": java_str,
}
_SCALAR: dict[str, Callable[..., Any]] = {
    "toString": java_str,
    "equals": lambda a, b: java_equals(a, b),
    "intValue": lambda a: int(a),
    "longValue": lambda a: int(a),
    "doubleValue": lambda a: float(a),
    "booleanValue": lambda a: bool(a),
}


def methods_for(value: Any) -> dict[str, Callable[..., Any]] | None:
    """The Java methods a template may call on a plain value (str, list, map, number, boolean)."""
    if isinstance(value, str):
        return _STRING
    if isinstance(value, dict):
        return _MAP
    if isinstance(value, list):
        return _LIST
    if isinstance(value, int | float | bool):
        return _SCALAR
    return None


def call_method(value: Any, name: str, args: Sequence[Any]) -> Any:
    """Call Java method ``name`` on a plain value; an unknown method gives None (Velocity: null).

    Example:
        >>> call_method([1, 2], "size", []), call_method("a,b,,", "split", [","])
        (2, ['a', 'b'])
    """
    table = methods_for(value)
    if table is None or name not in table:
        return None
    return table[name](value, *args)
