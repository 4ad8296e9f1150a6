"""The machinery under ``jsonpath.py``: path segments, their parser (filters included) and traversal.

A compiled path is a tuple of segments, plain tuples tagged by kind so traversal stays a tight loop:
``("field", name)``, ``("index", n)``, ``("wild",)``, ``("scan", segment)``, ``("names", (a, b))``,
``("indexes", (0, 1))``, ``("slice", start, stop)``, ``("filter", Filter)``, ``("length",)``.
Traversal is Jayway's for indefinite paths: a segment that does not apply selects nothing.

Example:
    >>> segments, end = parse_segments("$.a[?(@.n > 1)].n", 1)
    >>> list(walk(tuple(segments), 0, {"a": [{"n": 1}, {"n": 2}]}, None))
    [2]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFINITE", "Filter", "Segment", "fragment", "parse_segments", "walk"]

# Segments: ("field", name) ("index", n) ("wild",) ("scan", segment) ("names", (a, b)) ("indexes", (0, 1))
# ("slice", start, stop) ("filter", Filter) ("length",)
Segment = tuple[Any, ...]


def fragment(seg: Segment) -> str:
    kind = seg[0]
    if kind == "field":
        return f"['{seg[1]}']"
    if kind == "index":
        return f"[{seg[1]}]"
    if kind == "wild":
        return "[*]"
    if kind == "scan":
        return ".." + fragment(seg[1])
    if kind == "names":
        return "[" + ",".join("'" + n + "'" for n in seg[1]) + "]"
    if kind == "indexes":
        return "[" + ",".join(str(i) for i in seg[1]) + "]"
    if kind == "slice":
        return f"[{'' if seg[1] is None else seg[1]}:{'' if seg[2] is None else seg[2]}]"
    if kind == "filter":
        return "[?]"
    return ".length()"


def _children(doc: Any) -> Iterator[Any]:
    if type(doc) is dict:
        yield from doc.values()
    elif type(doc) is list:
        yield from doc


def _descendants(doc: Any) -> Iterator[Any]:
    yield doc
    for child in _children(doc):
        yield from _descendants(child)


def _step(seg: Segment, doc: Any, root: Any) -> Iterator[Any]:
    """Apply one segment to one node, yielding what it selects (silently nothing when it can't)."""
    kind = seg[0]
    if kind == "field":
        if type(doc) is dict and seg[1] in doc:
            yield doc[seg[1]]
    elif kind == "index":
        if type(doc) is list and -len(doc) <= seg[1] < len(doc):
            yield doc[seg[1]]
    elif kind == "wild":
        yield from _children(doc)
    elif kind == "names":
        if type(doc) is dict:
            yield from (doc[n] for n in seg[1] if n in doc)
    elif kind == "indexes":
        if type(doc) is list:
            yield from (doc[n] for n in seg[1] if -len(doc) <= n < len(doc))
    elif kind == "slice":
        if type(doc) is list:
            yield from doc[seg[1] : seg[2]]
    elif kind == "filter":
        pred: Filter = seg[1]
        if type(doc) is list:
            yield from (item for item in doc if pred.accepts(item, root))
        elif type(doc) is dict and pred.accepts(doc, root):
            yield doc
    elif kind == "scan":
        for node in _descendants(doc):
            if seg[1][0] == "field" and type(node) is not dict:
                continue
            yield from _step(seg[1], node, root)
    elif kind == "length" and isinstance(doc, list | dict | str):
        yield len(doc)


def walk(segments: tuple[Segment, ...], i: int, doc: Any, root: Any) -> Iterator[Any]:
    if i == len(segments):
        yield doc
        return
    for hit in _step(segments[i], doc, root):
        yield from walk(segments, i + 1, hit, root)


_STOP = frozenset(".[( \t\n")


def parse_segments(text: str, pos: int, stop: frozenset[str] = frozenset()) -> tuple[list[Segment], int]:
    """Parse path segments from ``text[pos:]`` until the end or a char in ``stop`` (used by filters)."""
    segs: list[Segment] = []
    n = len(text)
    while pos < n and text[pos] not in stop:
        ch = text[pos]
        if text.startswith("..", pos):
            pos += 2
            if pos < n and text[pos] == "[":
                seg, pos = _bracket(text, pos)
            elif pos < n and text[pos] == "*":
                seg, pos = ("wild",), pos + 1
            else:
                name, pos = _name(text, pos, stop)
                seg = ("field", name)
            segs.append(("scan", seg))
        elif ch == ".":
            pos += 1
            if pos < n and text[pos] == "*":
                segs.append(("wild",))
                pos += 1
                continue
            name, pos = _name(text, pos, stop)
            if text.startswith("()", pos):
                if name != "length":
                    raise ValueError(f"Function of name: {name} cannot be found")
                segs.append(("length",))
                pos += 2
                if pos < n and text[pos] not in stop:
                    raise ValueError(f"Invalid path: a function must come last: {text}")
            else:
                segs.append(("field", name))
        elif ch == "[":
            seg, pos = _bracket(text, pos)
            segs.append(seg)
        else:
            raise ValueError(f"Could not parse token starting at position {pos}: {text}")
    return segs, pos


def _name(text: str, pos: int, stop: frozenset[str]) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] not in _STOP and text[pos] not in stop:
        pos += 1
    if pos == start:
        raise ValueError(f"Path must not end with a '.' or '..': {text}")
    return text[start:pos], pos


def _quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    out: list[str] = []
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == "\\" and text.startswith(quote, pos + 1):  # only the quote itself is escaped:
            out.append(quote)  # AWS reads $['Test\\""Name"'] as the key Test\""Name" (corpus)
            pos += 2
        elif ch == quote:
            return "".join(out), pos + 1
        else:
            out.append(ch)
            pos += 1
    raise ValueError(f"Property has not been closed - missing closing {quote}: {text}")


def _bracket(text: str, pos: int) -> tuple[Segment, int]:
    end_err = ValueError(f"Could not parse token starting at position {pos}. Expected ?, ', 0-9, * : {text}")
    inner = pos + 1
    while inner < len(text) and text[inner] == " ":
        inner += 1
    if inner >= len(text):
        raise end_err
    ch = text[inner]
    if ch == "?":
        pred, after = _parse_filter(text, inner + 1)
        return ("filter", pred), _close(text, after, end_err)
    if ch == "*":
        return ("wild",), _close(text, inner + 1, end_err)
    if ch in "'\"":
        names: list[str] = []
        while True:
            name, inner = _quoted(text, inner)
            names.append(name)
            while inner < len(text) and text[inner] == " ":
                inner += 1
            if inner < len(text) and text[inner] == ",":
                inner += 1
                while inner < len(text) and text[inner] == " ":
                    inner += 1
                if inner >= len(text) or text[inner] not in "'\"":
                    raise end_err
                continue
            break
        after = _close(text, inner, end_err)
        return (("field", names[0]) if len(names) == 1 else ("names", tuple(names))), after
    close = text.find("]", inner)
    if close < 0:
        raise end_err
    body = text[inner:close].replace(" ", "")
    try:
        if ":" in body:
            parts = body.split(":")
            if len(parts) != 2:
                raise end_err
            start = int(parts[0]) if parts[0] else None
            stop = int(parts[1]) if parts[1] else None
            return ("slice", start, stop), close + 1
        idx = tuple(int(p) for p in body.split(","))
    except ValueError:
        raise end_err from None
    return (("index", idx[0]) if len(idx) == 1 else ("indexes", idx)), close + 1


def _close(text: str, pos: int, err: ValueError) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text) or text[pos] != "]":
        raise err
    return pos + 1


# ------------------------------------------------------------------------------------------------ filters

_MISSING = object()
_OPS = ("==", "!=", "<=", ">=", "=~", "<", ">")


@dataclass(frozen=True, slots=True)
class _Operand:
    kind: str  # "@", "$", "lit"
    segments: tuple[Segment, ...] = ()
    value: Any = None
    #: ``@.a.b`` style operands (fields only): looked up directly, without the generic walk
    fields: tuple[str, ...] | None = None
    definite: bool = True

    def value_in(self, item: Any, root: Any) -> Any:
        if self.kind == "lit":
            return self.value
        cur = item if self.kind == "@" else root
        if self.fields is not None:
            for name in self.fields:
                if type(cur) is not dict or name not in cur:
                    return _MISSING
                cur = cur[name]
            return cur
        hits = list(walk(self.segments, 0, cur, root))
        if self.definite:
            return hits[0] if hits else _MISSING
        return hits


def _path_operand(kind: str, segments: tuple[Segment, ...]) -> _Operand:
    fields = tuple(s[1] for s in segments) if all(s[0] == "field" for s in segments) else None
    return _Operand(kind, segments, None, fields, all(s[0] in DEFINITE for s in segments))


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter predicate: ``op`` is a comparison, ``and``/``or``/``not``, or ``exists``."""

    op: str
    args: tuple[Any, ...]

    def accepts(self, item: Any, root: Any) -> bool:
        op, args = self.op, self.args
        if op == "and":
            return all(a.accepts(item, root) for a in args)
        if op == "or":
            return any(a.accepts(item, root) for a in args)
        if op == "not":
            return not args[0].accepts(item, root)
        left = args[0].value_in(item, root)
        if op == "exists":
            return left is not _MISSING and (args[0].kind != "lit" or bool(left))
        right = args[1].value_in(item, root)
        if op == "!=":
            return not _equal(left, right)
        if left is _MISSING or right is _MISSING:
            return False
        if op == "==":
            return _equal(left, right)
        if op == "=~":
            return isinstance(left, str) and isinstance(right, re.Pattern) and bool(right.fullmatch(left))
        if (_is_num(left) and _is_num(right)) or (isinstance(left, str) and isinstance(right, str)):
            if op == "<":
                return bool(left < right)
            if op == "<=":
                return bool(left <= right)
            if op == ">":
                return bool(left > right)
            return bool(left >= right)
        return False


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_num(a) and _is_num(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    return pos


def _parse_filter(text: str, pos: int) -> tuple[Filter, int]:
    """Parse ``(expr)`` after ``[?``; returns the predicate and the position after ``)``."""
    pos = _skip(text, pos)
    if pos >= len(text) or text[pos] != "(":
        raise ValueError(f"Filter must start with '?(': {text}")
    pred, pos = _or(text, pos + 1)
    pos = _skip(text, pos)
    if pos >= len(text) or text[pos] != ")":
        raise ValueError(f"Filter is not closed with ')': {text}")
    return pred, pos + 1


def _or(text: str, pos: int) -> tuple[Filter, int]:
    first, pos = _and(text, pos)
    parts = [first]
    while text.startswith("||", _skip(text, pos)):
        part, pos = _and(text, _skip(text, pos) + 2)
        parts.append(part)
    return (parts[0] if len(parts) == 1 else Filter("or", tuple(parts))), pos


def _and(text: str, pos: int) -> tuple[Filter, int]:
    first, pos = _unary(text, pos)
    parts = [first]
    while text.startswith("&&", _skip(text, pos)):
        part, pos = _unary(text, _skip(text, pos) + 2)
        parts.append(part)
    return (parts[0] if len(parts) == 1 else Filter("and", tuple(parts))), pos


def _unary(text: str, pos: int) -> tuple[Filter, int]:
    pos = _skip(text, pos)
    if text.startswith("!", pos) and not text.startswith("!=", pos):
        inner, pos = _unary(text, pos + 1)
        return Filter("not", (inner,)), pos
    if text.startswith("(", pos):
        inner, pos = _or(text, pos + 1)
        pos = _skip(text, pos)
        if not text.startswith(")", pos):
            raise ValueError(f"Unbalanced parentheses in filter: {text}")
        return inner, pos + 1
    left, pos = _operand(text, pos)
    after = _skip(text, pos)
    for op in _OPS:
        if text.startswith(op, after):
            right, pos = _operand(text, after + len(op))
            return Filter(op, (left, right)), pos
    return Filter("exists", (left,)), pos


_FILTER_STOP = frozenset(")<>=!&|, \t\n")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def _operand(text: str, pos: int) -> tuple[_Operand, int]:
    pos = _skip(text, pos)
    if pos >= len(text):
        raise ValueError(f"Filter expression ended early: {text}")
    ch = text[pos]
    if ch in "@$":
        segs, pos = parse_segments(text, pos + 1, _FILTER_STOP)
        return _path_operand(ch, tuple(segs)), pos
    if ch in "'\"":
        value, pos = _quoted(text, pos)
        return _Operand("lit", value=value), pos
    if ch == "/":
        end = text.find("/", pos + 1)
        while end > 0 and text[end - 1] == "\\":
            end = text.find("/", end + 1)
        if end < 0:
            raise ValueError(f"Regex is not closed with '/': {text}")
        flags_end = end + 1
        while flags_end < len(text) and text[flags_end].isalpha():
            flags_end += 1
        flags = re.IGNORECASE if "i" in text[end + 1 : flags_end] else 0
        return _Operand("lit", value=re.compile(text[pos + 1 : end], flags)), flags_end
    keywords: tuple[tuple[str, Any], ...] = (("true", True), ("false", False), ("null", None))
    for word, literal in keywords:
        if text.startswith(word, pos):
            return _Operand("lit", value=literal), pos + len(word)
    m = _NUMBER.match(text, pos)
    if m:
        num = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
        return _Operand("lit", value=num), m.end()
    raise ValueError(f"Could not parse filter operand at position {pos}: {text}")


#: segment kinds that keep a path definite
DEFINITE = frozenset({"field", "index", "length"})
