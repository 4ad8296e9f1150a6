"""JSONPath for ``$input.json`` / ``$input.path``: the Jayway subset mapping templates use, compiled once.

Why not the states engine's JSONPath: ASL fails on a missing path, API Gateway answers null; and here
the path must return the document's own objects (not copies), because a template may change what
``$input.path`` returned and then print ``$input.json('$')`` with the change (qiita.com/makisyu,
"#set($body.url = ...)" then ``$input.json('$')``).

Supported: ``$``, ``.name``, ``['name']``/``["name"]``, ``[n]`` (negative too), ``[*]``, ``.*``,
``..name`` (deep scan), unions ``['a','b']`` (merged into one object at the leaf, as Jayway does) and
``[0,2]``, slices ``[1:3]``. A definite path that
finds nothing gives None; an indefinite one gives the list of what it found. Filters (``[?(...)]``)
are not supported: the template fails (500).

Example:
    >>> select({"a": [{"b": 1}, {"b": 2}]}, "$.a[*].b"), select({"a": {}}, "$.a.missing")
    ([1, 2], None)
    >>> select({"a": {"x": {"b": 1}, "y": {"b": 2}}}, "$..b")
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .java import JavaMap, JsonArray

__all__ = ["Path", "compile_path", "select"]

# segment kinds: ("name", str) ("index", int) ("wild",) ("scan", str | None) ("names", tuple)
# ("indexes", tuple) ("slice", start, stop)
Segment = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Path:
    """A compiled path."""

    text: str
    segments: tuple[Segment, ...]
    definite: bool


def _quoted(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    end = text.find(quote, pos + 1)
    if end < 0:
        raise ValueError(f"Invalid JSONPath {text!r}: unterminated quote")
    return text[pos + 1 : end], end + 1


def _bracket(text: str, pos: int) -> tuple[Segment, int]:
    """``[...]`` starting after the ``[``; returns the segment and the position after ``]``."""
    end = text.find("]", pos)
    if end < 0:
        raise ValueError(f"Invalid JSONPath {text!r}: missing ]")
    if text[pos] in "'\"":
        names: list[str] = []
        while True:
            name, pos = _quoted(text, pos)
            names.append(name)
            while pos < len(text) and text[pos] == " ":
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
                while pos < len(text) and text[pos] == " ":
                    pos += 1
                continue
            if pos >= len(text) or text[pos] != "]":
                raise ValueError(f"Invalid JSONPath {text!r}: expected ]")
            return (("name", names[0]) if len(names) == 1 else ("names", tuple(names))), pos + 1
    inner = text[pos:end].strip()
    if inner == "*":
        return ("wild",), end + 1
    if inner.startswith("?"):
        raise ValueError(f"JSONPath filters are not supported in mapping templates: {text!r}")
    if ":" in inner:
        start, _, stop = inner.partition(":")
        return ("slice", int(start) if start.strip() else None, int(stop) if stop.strip() else None), end + 1
    if "," in inner:
        return ("indexes", tuple(int(i) for i in inner.split(","))), end + 1
    return ("index", int(inner)), end + 1


def _name(text: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(text) and text[end] not in ".[":
        end += 1
    if end == pos:
        raise ValueError(f"Invalid JSONPath {text!r}: empty name at {pos}")
    return text[pos:end], end


@lru_cache(maxsize=2048)
def compile_path(text: str) -> Path:
    """Compile ``text``; ValueError when it is not a JSONPath this module reads."""
    text = text.strip()
    if not text.startswith("$"):
        raise ValueError(f"Invalid JSONPath {text!r}: must start with $")
    segments: list[Segment] = []
    pos = 1
    while pos < len(text):
        if text.startswith("..", pos):
            pos += 2
            if pos < len(text) and text[pos] == "[":
                seg, pos = _bracket(text, pos + 1)
                segments.append(("scan", seg[1] if seg[0] == "name" else None))
            elif pos < len(text) and text[pos] == "*":
                segments.append(("scan", None))
                pos += 1
            else:
                name, pos = _name(text, pos)
                segments.append(("scan", name))
        elif text[pos] == ".":
            if text.startswith("*", pos + 1):
                segments.append(("wild",))
                pos += 2
            else:
                name, pos = _name(text, pos + 1)
                segments.append(("name", name))
        elif text[pos] == "[":
            seg, pos = _bracket(text, pos + 1)
            segments.append(seg)
        else:
            raise ValueError(f"Invalid JSONPath {text!r}: unexpected {text[pos]!r} at {pos}")
    # a multi-property leaf after a definite path is definite too: Jayway merges it into one object
    definite = all(
        s[0] in ("name", "index") or (s[0] == "names" and i == len(segments) - 1)
        for i, s in enumerate(segments)
    )
    return Path(text, tuple(segments), definite)


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        yield from node.values()
    elif isinstance(node, list):
        yield from node


def _descendants(node: Any) -> Iterator[Any]:
    yield node
    for child in _children(node):
        yield from _descendants(child)


def _step(seg: Segment, node: Any) -> Iterator[Any]:
    kind = seg[0]
    if kind == "name":
        if isinstance(node, dict) and seg[1] in node:
            yield node[seg[1]]
    elif kind == "index":
        if isinstance(node, list) and -len(node) <= seg[1] < len(node):
            yield node[seg[1]]
    elif kind == "wild":
        yield from _children(node)
    elif kind == "names":
        if isinstance(node, dict):
            yield from (node[n] for n in seg[1] if n in node)
    elif kind == "indexes":
        if isinstance(node, list):
            yield from (node[i] for i in seg[1] if -len(node) <= i < len(node))
    elif kind == "slice":
        if isinstance(node, list):
            yield from node[seg[1] : seg[2]]
    else:  # scan
        for inner in _descendants(node):
            if seg[1] is None:
                if inner is not node:
                    yield inner
            elif isinstance(inner, dict) and seg[1] in inner:
                yield inner[seg[1]]


def select(document: Any, text: str) -> Any:
    """The value at a definite path (None when missing), or the list of matches of an indefinite one."""
    path = compile_path(text)
    if path.definite:
        node = document
        for seg in path.segments:
            if seg[0] == "names":
                return JavaMap((n, node[n]) for n in seg[1] if n in node) if isinstance(node, dict) else None
            found = next(_step(seg, node), _MISSING)
            if found is _MISSING:
                return None
            node = found
        return node
    nodes = [document]
    for seg in path.segments:
        nodes = [found for node in nodes for found in _step(seg, node)]
    return JsonArray(nodes)


_MISSING = object()
