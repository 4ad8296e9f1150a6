"""The variables API Gateway gives a mapping template: ``$input``, ``$util``, ``$context``.

Hand-written because no library emulates API Gateway's objects (airspeed-ext is only Velocity). The
behaviours follow the mapping template reference and recordings against AWS
(``shared/conformance/vtl``): an empty body reads as ``{}``, ``$input.params(name)`` looks in path,
then query string, then headers, ``$util.escapeJavaScript`` is commons-lang's (``'`` -> ``\\'``,
``/`` -> ``\\/``, non-ASCII -> ``\\uXXXX``), ``$util.urlEncode`` is Java's ``URLEncoder``.

Example:
    >>> from .vtl import compile_template
    >>> body = InputBody(b'{"a": "it\\'s"}', Params({}, {}, {}))
    >>> compile_template("$util.escapeJavaScript($input.json('$'))").render(
    ...     {"input": body, "util": UTIL})
    '{\\\\"a\\\\":\\\\"it\\\\\\'s\\\\"}'
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import quote_plus, unquote_plus

from .java import JavaMap, java_str, to_java
from .jsonbody import JsonBodyError, read_json
from .jsonpath import select
from .vtl import TemplateAbort, VtlObject

__all__ = ["UTIL", "ContextMap", "InputBody", "InvalidBody", "Params", "escape_javascript"]


class InvalidBody(TemplateAbort):
    """The body is not JSON but the template reads it as JSON: the gateway answers 400."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def parse_json(text: str) -> Any:
    """Strict JSON (no NaN/Infinity), as Jackson parses it."""
    return json.loads(text, parse_constant=_reject_constant)


def dump_json(value: Any) -> str:
    """Compact JSON, as API Gateway's ``$input.json`` writes it."""
    return _COMPACT.encode(value)


#: ``json.dumps`` builds an encoder per call when given options; this one is built once
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Params:
    """A request's parameters by location, each a case-sensitive map of the last value."""

    path: dict[str, str]
    querystring: dict[str, str]
    header: dict[str, str]

    def lookup(self, name: str) -> str | None:
        """Path first, then query string, then headers (header names match case-insensitively)."""
        for source in (self.path, self.querystring):
            if name in source:
                return source[name]
        if name in self.header:
            return self.header[name]
        lowered = name.lower()
        for key, value in self.header.items():
            if key.lower() == lowered:
                return value
        return None


class InputBody(VtlObject):
    """``$input``: the payload (request body, or the integration's response body) and the params."""

    __slots__ = ("_java", "_parsed", "_raw", "_text", "params_")
    vtl_members: ClassVar[frozenset[str]] = frozenset({"body", "json", "path", "params"})
    _MISSING: ClassVar[object] = object()

    def __init__(self, raw: bytes, params: Params) -> None:
        self._raw = raw
        self._text: str | None = None
        self._parsed: Any = self._MISSING
        self._java: Any = self._MISSING
        self.params_ = params

    @property
    def body(self) -> str:
        """The raw payload as text; an empty payload reads as ``{}``."""
        if self._text is None:
            self._text = self._raw.decode("utf-8", errors="replace") if self._raw else "{}"
        return self._text

    def document(self) -> Any:
        """The payload parsed as JSON (once); InvalidBody when it is not JSON."""
        if self._parsed is self._MISSING:
            try:
                self._parsed = read_json(self._raw) if self._raw else {}
            except JsonBodyError as exc:
                raise InvalidBody(str(exc)) from exc
        return self._parsed

    def json(self, path: Any = "$") -> str:
        """``$input.json(x)``: the JSONPath result as a JSON string (changes made through
        ``$input.path`` objects included, as on AWS)."""
        document = self._java if self._java is not self._MISSING else self.document()
        return _COMPACT.encode(select(document, path if type(path) is str else java_str(path)))

    def path(self, path: Any = "$") -> Any:
        """``$input.path(x)``: the JSONPath result as the document's own objects (maps print ``{a=b}``)."""
        if self._java is self._MISSING:
            self._java = to_java(self.document())
        return self._select(self._java, path)

    def params(self, name: Any = None) -> Any:
        """``$input.params()`` (all, by location) or ``$input.params(name)`` (path, query, header)."""
        if name is None:
            return JavaMap(
                path=JavaMap(self.params_.path),
                querystring=JavaMap(self.params_.querystring),
                header=JavaMap(self.params_.header),
            )
        return self.params_.lookup(java_str(name)) or ""

    @staticmethod
    def _select(document: Any, path: Any) -> Any:
        return select(document, java_str(path))


def escape_javascript(text: str) -> str:
    """commons-lang 2 ``StringEscapeUtils.escapeJavaScript``, which API Gateway's ``$util`` uses.

    Example:
        >>> escape_javascript('a"b\\'c/d\\u00e9\\U0001F600\\x01')
        'a\\\\"b\\\\\\'c\\\\/d\\\\u00E9\\\\uD83D\\\\uDE00\\\\u0001'
    """
    if text.isascii():
        if _CONTROL_CHAR.search(text) is None:  # the usual case: a few C-speed passes, backslash first
            return text.replace("\\", "\\\\").replace("'", "\\'").replace('"', '\\"').replace("/", "\\/")
        return text.translate(_ASCII_TABLE)
    return _NEEDS_ESCAPE.sub(_escape_char, text)


_CONTROL = {8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r"}
_ESCAPES = {"'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
_NEEDS_ESCAPE = re.compile("[\x00-\x1f'\"\\\\/\x80-\U0010ffff]")
_CONTROL_CHAR = re.compile("[\x00-\x1f]")


@lru_cache(maxsize=4096)
def _escape_one(ch: str) -> str:
    code = ord(ch)
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if code < 32:
        return _CONTROL.get(code) or f"\\u{code:04X}"
    if code > 0xFFFF:  # Java strings are UTF-16: a surrogate pair, each escaped
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}"
    return f"\\u{code:04X}"


def _escape_char(match: re.Match[str]) -> str:
    return _escape_one(match.group())


_ASCII_TABLE = {code: _escape_one(chr(code)) for code in range(128) if _NEEDS_ESCAPE.match(chr(code))}


class Util(VtlObject):
    """``$util``: the helper functions of the mapping template reference."""

    __slots__ = ()
    vtl_members: ClassVar[frozenset[str]] = frozenset(
        {"escapeJavaScript", "parseJson", "urlEncode", "urlDecode", "base64Encode", "base64Decode"}
    )

    def escapeJavaScript(self, value: Any) -> str | None:  # noqa: N802 - the VTL name
        """Escape for a JavaScript (not JSON) string literal; null stays null."""
        if value is None:
            return None
        return escape_javascript(value if type(value) is str else java_str(value))

    def parseJson(self, value: Any) -> Any:  # noqa: N802
        """Parse a JSON string into objects a template can walk."""
        return to_java(parse_json(java_str(value)))

    def urlEncode(self, value: Any) -> str | None:  # noqa: N802
        """``URLEncoder.encode(s, "UTF-8")``: spaces as ``+``, ``*`` kept, ``~`` escaped."""
        if value is None:
            return None
        return quote_plus(java_str(value), safe="*").replace("~", "%7E")

    def urlDecode(self, value: Any) -> str | None:  # noqa: N802
        """``URLDecoder.decode(s, "UTF-8")``."""
        return None if value is None else unquote_plus(java_str(value))

    def base64Encode(self, value: Any) -> str | None:  # noqa: N802
        """Base64 of the UTF-8 bytes."""
        if value is None:
            return None
        return base64.b64encode(java_str(value).encode()).decode("ascii")

    def base64Decode(self, value: Any) -> str | None:  # noqa: N802
        """Text of base64 (UTF-8)."""
        if value is None:
            return None
        return base64.b64decode(java_str(value)).decode("utf-8", errors="replace")


#: the one ``$util`` (stateless)
UTIL = Util()


class OpaqueMap(JavaMap):
    """A map inside ``$context`` (identity, overrides): readable, but prints as nothing on AWS."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""


class ContextMap(JavaMap):
    """``$context``: ``keySet()`` lists AWS's keys; ``authorizer``, ``error``... resolve but are hidden."""

    __slots__ = ("hidden",)

    def __init__(self, visible: dict[str, Any], hidden: dict[str, Any]) -> None:
        super().__init__(visible)
        self.hidden = hidden

    def __missing__(self, key: str) -> Any:
        return self.hidden[key]
