"""A payload read as JSON the way API Gateway's parser (Jackson) reads it, with Jackson's complaints.

API Gateway reads the first JSON value and ignores what follows it (Jackson's ``readTree`` without
``FAIL_ON_TRAILING_TOKENS``), rejects ``NaN``/``Infinity``, and when it cannot parse the body a client
sees Jackson's message, e.g. (quickstart-git2s3#11, serverless#2270)::

    Could not parse request body into json: Unexpected character ('}' (code 125)): was expecting
    double-quote to start field name\\n at [Source: [B@2ef71fad; line: 60, column: 6]

Python's decoder finds the same errors; this module words them as Jackson does for the common cases.

Example:
    >>> read_json(b'{"a": 1} trailing')
    {'a': 1}
    >>> try:
    ...     read_json(b'{"a": 1,}')
    ... except JsonBodyError as exc:
    ...     print(str(exc).split(chr(10))[0])
    Unexpected character ('}' (code 125)): was expecting double-quote to start field name
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

__all__ = ["JsonBodyError", "read_json"]

_DECODER = json.JSONDecoder(parse_constant=lambda name: _non_standard(name))
_VALUE_EXPECTED = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


class JsonBodyError(ValueError):
    """The payload is not JSON; the message is Jackson's wording with its location suffix."""


class _NonStandardError(ValueError):
    pass


def _non_standard(name: str) -> Any:
    raise _NonStandardError(name)


def read_json(raw: bytes) -> Any:
    """Parse the first JSON value of ``raw``; JsonBodyError with Jackson's message when it is not JSON."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode(errors="replace")
        raise JsonBodyError(f"Invalid UTF-8 start byte 0x{raw[exc.start]:02x}" + _where(before)) from exc
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise JsonBodyError("No content to map due to end-of-input" + _where(text))
    # Jackson refuses nesting past MAX_DEPTH. Counting brackets and the depth check run at C speed, so a
    # large body pays no per-character Python loop; the exact position is only looked for when too deep.
    if (
        text.count("[") + text.count("{") > MAX_DEPTH
        and _may_be_too_deep(text)
        and (at := _past_max_depth(text)) is not None
    ):
        raise JsonBodyError(
            f"Document nesting depth ({MAX_DEPTH + 1}) exceeds the maximum allowed ({MAX_DEPTH}, from "
            "`StreamReadConstraints.getMaxNestingDepth()`)" + _where(text[: at + 1])
        )
    try:
        value, _ = _decode(text, start)
    except RecursionError:  # within Jackson's limit, deeper than Python's stack: give it the frames
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 2 * MAX_DEPTH)
        try:
            value, _ = _decode(text, start)
        finally:
            sys.setrecursionlimit(limit)
    return value


def _decode(text: str, start: int) -> tuple[Any, int]:
    try:
        return _DECODER.raw_decode(text, start)
    except _NonStandardError as exc:
        raise JsonBodyError(
            f"Non-standard token '{exc}': enable JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow"
            + _where(text)
        ) from exc
    except json.JSONDecodeError as exc:
        raise JsonBodyError(_describe(exc) + _where(text[: exc.pos + 1])) from exc


#: Jackson's ``StreamReadConstraints`` default nesting limit.
MAX_DEPTH = 1000


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _may_be_too_deep(text: str) -> bool:
    """Whether the brackets outside strings nest past ``MAX_DEPTH`` (regex and itertools: C speed).

    An unterminated string can make this say yes wrongly; ``_past_max_depth`` then settles it.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def _brackets(text: str) -> Iterator[tuple[int, str]]:
    """The positions and characters of the brackets in ``text`` that stand outside strings."""
    in_string = escaped = False
    for pos, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[]{}":
            yield pos, ch


def _past_max_depth(text: str) -> int | None:
    """Where the nesting goes past ``MAX_DEPTH``, or None if it never does."""
    depth = 0
    for pos, ch in _brackets(text):
        depth += _STEP[ch]
        if depth > MAX_DEPTH:
            return pos
    return None


def _where(consumed: str) -> str:
    line = consumed.count("\n") + 1
    column = len(consumed) - (consumed.rfind("\n") + 1)
    return f"\n at [Source: (String); line: {line}, column: {column}]"


def _char(text: str, pos: int) -> str:
    ch = text[pos]
    return f"'{ch}' (code {ord(ch)})"


def _container(text: str, pos: int) -> str:
    """Object or Array: the innermost bracket still open at ``pos`` (strings skipped)."""
    stack: list[str] = []
    for _, ch in _brackets(text[:pos]):
        if ch in "[{":
            stack.append(ch)
        elif stack:
            stack.pop()
    return "Object" if stack and stack[-1] == "{" else "Array"


def _describe(exc: json.JSONDecodeError) -> str:
    text, pos, msg = exc.doc, exc.pos, exc.msg
    at_end = pos >= len(text)
    if at_end and not msg.startswith("Unterminated string"):
        return f"Unexpected end-of-input: expected close marker for {_container(text, pos)}"
    if msg.startswith("Expecting property name"):
        return f"Unexpected character ({_char(text, pos)}): was expecting double-quote to start field name"
    if msg.startswith("Expecting ',' delimiter"):
        kind = _container(text, pos)
        return f"Unexpected character ({_char(text, pos)}): was expecting comma to separate {kind} entries"
    if msg.startswith("Expecting ':' delimiter"):
        expected = "was expecting a colon to separate field name and value"
        return f"Unexpected character ({_char(text, pos)}): {expected}"
    if msg.startswith("Expecting value"):
        end = pos
        while end < len(text) and (text[end].isalnum() or text[end] in "_$"):
            end += 1
        if end > pos:
            return f"Unrecognized token '{text[pos:end]}': was expecting {_VALUE_EXPECTED}"
        return f"Unexpected character ({_char(text, pos)}): expected a valid value {_VALUE_EXPECTED}"
    if msg.startswith("Unterminated string"):
        return "Unexpected end-of-input: was expecting closing quote for a string value"
    if msg.startswith("Invalid control character"):
        return (
            f"Illegal unquoted character ((CTRL-CHAR, code {ord(text[pos])})): has to be escaped using "
            "backslash to be included in string value"
        )
    if msg.startswith("Invalid \\escape"):
        return f"Unrecognized character escape {_char(text, pos + 1)}"
    return msg
