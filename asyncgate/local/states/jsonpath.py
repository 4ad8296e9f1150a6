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

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any

from ..jsontext import compact
from .jsonpath_segments import DEFINITE, Segment, fragment, parse_segments, walk
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
    #: for reference paths, ``(is_field, key)`` per step: the ~0.5 µs lookup loop
    fast_steps: tuple[tuple[bool, Any], ...] | None = None

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
            return len(list(walk(self.segments[:-1], 0, doc, doc)))
        return list(walk(self.segments, 0, doc, doc))

    def exists(self, doc: Any) -> bool:
        """Whether ``get`` would find something (IsPresent): indefinite paths always 'exist'."""
        try:
            self.get(doc)
        except PathNotFound:
            return False
        return True

    def _get_definite(self, doc: Any) -> Any:
        steps = self.fast_steps
        if steps is None:
            return self._walk_definite(doc)
        cur = doc
        for is_field, key in steps:
            if is_field:
                if type(cur) is dict and key in cur:
                    cur = cur[key]
                    continue
            elif type(cur) is list and -len(cur) <= key < len(cur):
                cur = cur[key]
                continue
            return self._walk_definite(doc)  # raises with Jayway's explanation
        return cur

    def _walk_definite(self, doc: Any) -> Any:
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
            done += fragment(seg)
        return cur

    def set(self, doc: Any, value: Any) -> Any:
        """A new document with ``value`` at this path (ResultPath); ``$`` replaces the whole document.

        Missing intermediate objects are created (a ``null`` one is replaced by an object too); the
        containers along the path are copied, the rest shared.
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
        new[seg[1]] = _set(path, cur.get(seg[1]), i + 1, value, done + fragment(seg))
        return new
    if type(cur) is not list or not -len(cur) <= seg[1] < len(cur):
        raise PathNotFound(path.text, f"Cannot set index [{seg[1]}] in path {done}")
    new_list = list(cur)
    new_list[seg[1]] = _set(path, cur[seg[1]], i + 1, value, done + fragment(seg))
    return new_list


def _java_str(value: Any) -> str:
    return compact(value)


def _length(text: str, value: Any) -> int:
    if isinstance(value, list | dict | str):
        return len(value)
    raise PathNotFound(text, f"Invalid function call: length() on {type_name(value)}")


_VAR_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


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
    definite = all(s[0] in DEFINITE or (s[0] == "names" and i == len(segs) - 1) for i, s in enumerate(segs))
    reference = all(s[0] in ("field", "index") for s in segs)
    normalized = "$" + "".join(fragment(s) for s in segs)
    fast = tuple((s[0] == "field", s[1]) for s in segs) if reference else None
    return JsonPath(text, root, variable, tuple(segs), definite, normalized, reference, fast)


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
