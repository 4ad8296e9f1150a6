"""CloudWatch Logs filter patterns, compiled once per request into a predicate over messages.

Why hand-written: the pattern language is CloudWatch's own (terms, quoted phrases, ``-`` and ``?``
prefixes, ``{ $.field op value }`` for JSON events); no library implements it. This covers what
``FilterLogEvents`` users reach for on unstructured and JSON log events, not metric-filter extraction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from asyncgate.local.errors import InvalidParameterException

__all__ = ["compile_filter_pattern"]


def compile_filter_pattern(pattern: str | None) -> Callable[[str], bool]:
    """Compile a CloudWatch Logs filter pattern for unstructured log events.

    Supported: terms (all must appear), ``"quoted phrases"``, ``-term`` exclusions, ``?term`` (any of),
    and the empty pattern (everything). JSON patterns (``{ $.x = 1 }``) match on the field's value.

    Example:
        >>> f = compile_filter_pattern('ERROR "timed out" -retry')
        >>> f("ERROR: Task timed out"), f("ERROR timed out retry")
        (True, False)
    """
    text = (pattern or "").strip()
    if not text:
        return lambda _message: True
    if text.startswith("{") and text.endswith("}"):
        return _json_filter(text[1:-1].strip())
    terms = re.findall(r'([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))', text)
    required: list[str] = []
    excluded: list[str] = []
    optional: list[str] = []
    for sign, quoted, bare in terms:
        word = quoted if quoted else bare
        {"-": excluded, "?": optional}.get(sign, required).append(word)

    def match(message: str) -> bool:
        if any(w in message for w in excluded):
            return False
        if optional and not any(w in message for w in optional):
            return False
        return all(w in message for w in required)

    return match


_JSON_RULE = re.compile(r"^\$\.([\w.]+)\s*(=|!=|>=|<=|>|<)\s*(.+)$")


def _json_filter(rule: str) -> Callable[[str], bool]:
    found = _JSON_RULE.match(rule)
    if not found:
        raise InvalidParameterException("Invalid filter pattern")
    keys, op, raw = found.group(1).split("."), found.group(2), found.group(3).strip()
    expected: Any = raw[1:-1] if raw.startswith('"') and raw.endswith('"') else raw

    def match(message: str) -> bool:
        try:
            value: Any = json.loads(message)
            for key in keys:
                value = value[key]
        except (ValueError, KeyError, TypeError, IndexError):
            return False
        if op in ("=", "!="):
            equal = str(value) == str(expected) or (
                isinstance(expected, str) and "*" in expected and re.fullmatch(
                    re.escape(expected).replace(r"\*", ".*"), str(value)) is not None
            )
            return equal if op == "=" else not equal
        try:
            left, right = float(value), float(expected)
        except (TypeError, ValueError):
            return False
        return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[op]

    return match
