"""JSONPath as Step Functions evaluates it (Jayway semantics), compiled once, evaluated in ~1 µs.

Step Functions' JSONPath fields (InputPath, Parameters ``.$``, ResultPath, OutputPath, Choice
``Variable``) follow the Jayway implementation; jsonpath-ng costs ~250 µs a parse, so this module is a
small hand-written parser for the subset ASL uses: ``$``, ``.name``, ``['name']``, ``[n]`` (negative
too), ``[*]``, ``..`` deep scan, unions ``[a,b]``, slices ``[1:3]``, filters ``[?(@.x > 1)]`` and
``.length()``. ``$$...`` is the same syntax applied to the context object, ``$name...`` to a variable.

Errors carry Jayway's wording, which AWS embeds in its causes, e.g. the engine renders
``Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']`` from
``PathNotFound.message``.

Example:
    >>> p = compile_path("$.a[1].b")
    >>> p.get({"a": [{}, {"b": 2}]})
    2
    >>> p.set({"a": [{}, {}]}, 3)
    {'a': [{}, {'b': 3}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from .scope import Scope

__all__ = ["JsonPath", "PathNotFound", "Root", "compile_path", "split_variable_path", "type_name"]


class PathNotFound(Exception):  # noqa: N818 - the name the engine contract uses
    """A definite path matched nothing, or ResultPath could not be applied.

    ``path`` is the path's text; ``message`` Jayway's explanation (``No results for path: $['a']``).

    Example:
        >>> str(PathNotFound("$.a", "No results for path: $['a']"))
        "No results for path: $['a']"
    """

    def __init__(self, path: str, message: str | None = None) -> None:
        self.path = path
        self.message = message or f"No results for path: {path}"
        super().__init__(self.message)


class Root(Enum):
    """Which document a path starts from: ``$`` input, ``$$`` context, ``$name`` a variable."""

    INPUT = "$"
    CONTEXT = "$$"
    VARIABLE = "$var"


# Segments: ("field", name) ("index", n) ("wild",) ("scan", segment) ("names", (a, b)) ("indexes", (0, 1))
# ("slice", start, stop) ("filter", Filter) ("length",)
Segment = tuple[Any, ...]


def type_name(value: Any) -> str:
    """The JSON type of a Python value, as AWS names it in messages (``object``, ``array``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _fragment(seg: Segment) -> str:
    kind = seg[0]
    if kind == "field":
        return "['" + seg[1] + "']"
    if kind == "index":
        return f"[{seg[1]}]"
    if kind == "wild":
        return "[*]"
    if kind == "scan":
        return ".." + _fragment(seg[1])
    if kind == "names":
        return "[" + ",".join("'" + n + "'" for n in seg[1]) + "]"
    if kind == "indexes":
        return "[" + ",".join(str(i) for i in seg[1]) + "]"
    if kind == "slice":
        return f"[{'' if seg[1] is None else seg[1]}:{'' if seg[2] is None else seg[2]}]"
    if kind == "filter":
        return "[?]"
    return ".length()"


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled path. ``get`` reads, ``set`` writes (ResultPath), ``resolve`` reads from a Scope.

    Example:
        >>> compile_path("$.items[?(@.n > 1)].n").get({"items": [{"n": 1}, {"n": 2}]})
        [2]
        >>> compile_path("$$.Execution.Id").resolve(Scope(input={}, context={"Execution": {"Id": "x"}}))
        'x'
    """

    #: the path as written in the definition
    text: str
    #: which document ``$`` stands for
    root: Root
    #: the variable's name when ``root`` is VARIABLE
    variable: str | None
    segments: tuple[Segment, ...]
    #: no wildcards, deep scans, unions, slices or filters: ``get`` returns one value, not a list
    is_definite: bool
    #: Jayway's normalised form, ``$['a'][0]``, used in its messages
    normalized: str
    #: only fields and indices: usable as a ResultPath (a Reference Path in the spec)
    is_reference: bool

    def resolve(self, scope: Scope) -> Any:
        """Evaluate against the document the path's root names (input, context or a variable)."""
        if self.root is Root.INPUT:
            return self.get(scope.input)
        if self.root is Root.CONTEXT:
            return self.get(scope.context)
        assert self.variable is not None
        if self.variable not in scope.variables:
            raise PathNotFound(self.text, f"The variable '{self.variable}' is not defined")
        return self.get(scope.variables[self.variable])

    def get(self, doc: Any) -> Any:
        """The value at the path (definite) or the list of matches (indefinite); see PathNotFound."""
        if self.is_definite:
            return self._get_definite(doc)
        if self.segments[-1][0] == "length":  # Jayway applies a trailing function to all the matches
            return len(list(_walk(self.segments[:-1], 0, doc, doc)))
        return list(_walk(self.segments, 0, doc, doc))

    def exists(self, doc: Any) -> bool:
        """Whether ``get`` would find something (IsPresent): indefinite paths always 'exist'."""
        try:
            self.get(doc)
        except PathNotFound:
            return False
        return True

    def _get_definite(self, doc: Any) -> Any:
        cur = doc
        done = "$"
        last = len(self.segments) - 1
        for i, seg in enumerate(self.segments):
            kind = seg[0]
            if kind == "field":
                if type(cur) is dict:
                    if seg[1] in cur:
                        cur = cur[seg[1]]
                    elif i == last:
                        raise PathNotFound(self.text, f"No results for path: {self.normalized}")
                    else:
                        raise PathNotFound(self.text, f"Missing property in path {done}['{seg[1]}']")
                else:
                    raise PathNotFound(
                        self.text,
                        f"Expected to find an object with property ['{seg[1]}'] in path {done} "
                        f"but found '{type_name(cur)}'. This is not a json object according to the "
                        "JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
                    )
            elif kind == "index":
                if type(cur) is not list:
                    raise PathNotFound(
                        self.text,
                        f"Filter: [{seg[1]}] can only be applied to arrays. Current context is: "
                        f"{_java_str(cur)}",
                    )
                n = seg[1]
                if -len(cur) <= n < len(cur):
                    cur = cur[n]
                else:
                    raise PathNotFound(self.text, f"No results for path: {self.normalized}")
            elif kind == "names":  # a multi-property leaf merges into one object (Jayway)
                if type(cur) is not dict:
                    raise PathNotFound(self.text, f"No results for path: {self.normalized}")
                cur = {n: cur[n] for n in seg[1] if n in cur}
            else:  # length
                return _length(self.text, cur)
            done += _fragment(seg)
        return cur

    def set(self, doc: Any, value: Any) -> Any:
        """A new document with ``value`` at this path (ResultPath); ``$`` replaces the whole document.

        Intermediate objects are created; containers along the path are copied, the rest shared.
        Raises PathNotFound when the path crosses a non-object or an index that does not exist.
        """
        if not self.is_reference:
            raise PathNotFound(self.text, f"Invalid ResultPath '{self.text}': not a reference path")
        return _set(self, doc, 0, value, "$")


def _set(path: JsonPath, cur: Any, i: int, value: Any, done: str) -> Any:
    if i == len(path.segments):
        return value
    seg = path.segments[i]
    if seg[0] == "field":
        if cur is None and i > 0:
            cur = {}
        if type(cur) is not dict:
            raise PathNotFound(
                path.text, f"Cannot set property ['{seg[1]}'] in path {done}: found {type_name(cur)}"
            )
        new = dict(cur)
        new[seg[1]] = _set(path, cur.get(seg[1]), i + 1, value, done + _fragment(seg))
        return new
    if type(cur) is not list or not -len(cur) <= seg[1] < len(cur):
        raise PathNotFound(path.text, f"Cannot set index [{seg[1]}] in path {done}")
    new_list = list(cur)
    new_list[seg[1]] = _set(path, cur[seg[1]], i + 1, value, done + _fragment(seg))
    return new_list


def _java_str(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _length(text: str, value: Any) -> int:
    if isinstance(value, list | dict | str):
        return len(value)
    raise PathNotFound(text, f"Invalid function call: length() on {type_name(value)}")


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


def _walk(segments: tuple[Segment, ...], i: int, doc: Any, root: Any) -> Iterator[Any]:
    if i == len(segments):
        yield doc
        return
    for hit in _step(segments[i], doc, root):
        yield from _walk(segments, i + 1, hit, root)


# ---------------------------------------------------------------------------------------------- parsing

_STOP = frozenset(".[( \t\n")
_VAR_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


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

    def value_in(self, item: Any, root: Any) -> Any:
        if self.kind == "lit":
            return self.value
        hits = list(_walk(self.segments, 0, item if self.kind == "@" else root, root))
        if all(s[0] in _DEFINITE for s in self.segments):
            return hits[0] if hits else _MISSING
        return hits


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
                return left < right
            if op == "<=":
                return left <= right
            if op == ">":
                return left > right
            return left >= right
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
    parts = [None]
    parts[0], pos = _and(text, pos)
    while text.startswith("||", _skip(text, pos)):
        part, pos = _and(text, _skip(text, pos) + 2)
        parts.append(part)
    return (parts[0] if len(parts) == 1 else Filter("or", tuple(parts))), pos  # type: ignore[return-value]


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
        return _Operand(ch, tuple(segs)), pos
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
    for word, value in (("true", True), ("false", False), ("null", None)):
        if text.startswith(word, pos):
            return _Operand("lit", value=value), pos + len(word)
    m = _NUMBER.match(text, pos)
    if m:
        num = float(m.group()) if m.group(1) or m.group(2) else int(m.group())
        return _Operand("lit", value=num), m.end()
    raise ValueError(f"Could not parse filter operand at position {pos}: {text}")


_DEFINITE = frozenset({"field", "index", "length"})


@lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Compile a JSONPath (``$...``), context path (``$$...``) or variable path (``$name...``).

    Raises ValueError with a message when the path is malformed.

    Example:
        >>> compile_path("$.a..b").is_definite
        False
        >>> compile_path("$x.y").variable
        'x'
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise ValueError(f"Invalid JSONPath: must start with '$': {text!r}")
    variable: str | None = None
    if text.startswith("$$"):
        root, pos = Root.CONTEXT, 2
    elif len(text) > 1 and text[1] in _VAR_START:
        pos = 1
        while pos < len(text) and (text[pos].isalnum() or text[pos] == "_"):
            pos += 1
        root, variable = Root.VARIABLE, text[1:pos]
    else:
        root, pos = Root.INPUT, 1
    segs, end = parse_segments(text, pos)
    if end != len(text):
        raise ValueError(f"Could not parse token starting at position {end}: {text}")
    # a multi-property union is definite only as the leaf, where Jayway merges it into one object
    definite = all(s[0] in _DEFINITE or (s[0] == "names" and i == len(segs) - 1) for i, s in enumerate(segs))
    reference = all(s[0] in ("field", "index") for s in segs)
    normalized = "$" + "".join(_fragment(s) for s in segs)
    return JsonPath(text, root, variable, tuple(segs), definite, normalized, reference)


def split_variable_path(text: str) -> tuple[str, JsonPath]:
    """Split ``$name.rest`` into the variable's name and the path ``$.rest`` applied to its value.

    Example:
        >>> name, path = split_variable_path("$order.items[0]")
        >>> name, path.text
        ('order', '$.items[0]')
    """
    compiled = compile_path(text)
    if compiled.variable is None:
        raise ValueError(f"Not a variable path: {text}")
    return compiled.variable, compile_path("$" + text[1 + len(compiled.variable) :])
