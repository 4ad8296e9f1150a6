"""The parser's tables and field compilers: which fields each state type accepts per query language,
AWS's error wording, and the compile-once wrappers around the expression modules.

Kept apart from ``parse.py`` so the per-type parsing reads as a list of fields, and so the wording
of every InvalidDefinition message lives in one place.

Example:
    >>> errs = ParseErrors()
    >>> errs.schema("String does not match RFC3339 timestamp", "/States/W/Timestamp")
    >>> errs.message()
    "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: String does not match RFC3339 timestamp at /States/W/Timestamp'"
"""  # noqa: E501

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..errors import InvalidDefinition
from .model import QueryLanguage, Renderable

__all__ = ["STATE_FIELDS", "ParseErrors", "is_jsonata", "is_rfc3339", "payload", "template"]

QL = QueryLanguage


class ParseErrors:
    """Collects problems as ``(code, message, pointer)``; AWS reports all of them in one message."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str]] = []

    def add(self, code: str, message: str, pointer: str) -> None:
        item = (code, message, pointer or "/")
        if item not in self.items:
            self.items.append(item)

    def schema(self, message: str, pointer: str) -> None:
        self.add("SCHEMA_VALIDATION_FAILED", message, pointer)

    def message(self) -> str:
        body = ", ".join(f"{code}: {msg} at {ptr}" for code, msg, ptr in self.items)
        return f"Invalid State Machine Definition: '{body}'"

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidDefinition(self.message())


_BASE = frozenset({"Type", "Comment", "QueryLanguage"})
_FLOW = frozenset({"Next", "End"})
_IO = frozenset({"InputPath", "OutputPath"})

#: Type -> (fields allowed under both query languages, {query language: fields only it allows})
STATE_FIELDS: dict[str, tuple[frozenset[str], dict[QueryLanguage, frozenset[str]]]] = {
    "Pass": (
        _BASE | _FLOW | {"Assign"},
        {QL.JSONPATH: _IO | {"Parameters", "Result", "ResultPath"}, QL.JSONATA: frozenset({"Output"})},
    ),
    "Task": (
        _BASE
        | _FLOW
        | {"Assign", "Resource", "TimeoutSeconds", "HeartbeatSeconds", "Retry", "Catch", "Credentials"},
        {
            QL.JSONPATH: _IO
            | {"Parameters", "ResultSelector", "ResultPath", "TimeoutSecondsPath", "HeartbeatSecondsPath"},
            QL.JSONATA: frozenset({"Arguments", "Output"}),
        },
    ),
    "Choice": (
        _BASE | {"Assign", "Choices", "Default"},
        {QL.JSONPATH: _IO, QL.JSONATA: frozenset({"Output"})},
    ),
    "Wait": (
        _BASE | _FLOW | {"Assign", "Seconds", "Timestamp"},
        {QL.JSONPATH: _IO | {"SecondsPath", "TimestampPath"}, QL.JSONATA: frozenset({"Output"})},
    ),
    "Succeed": (_BASE, {QL.JSONPATH: _IO, QL.JSONATA: frozenset({"Output"})}),
    "Fail": (
        _BASE | {"Error", "Cause"},
        {QL.JSONPATH: frozenset({"ErrorPath", "CausePath"}), QL.JSONATA: frozenset()},
    ),
    "Parallel": (
        _BASE | _FLOW | {"Assign", "Branches", "Retry", "Catch"},
        {
            QL.JSONPATH: _IO | {"Parameters", "ResultSelector", "ResultPath"},
            QL.JSONATA: frozenset({"Arguments", "Output"}),
        },
    ),
    "Map": (
        _BASE
        | _FLOW
        | {
            "Assign",
            "Iterator",
            "ItemProcessor",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
            "Retry",
            "Catch",
            "ItemSelector",
        },
        {
            QL.JSONPATH: _IO
            | {
                "ItemsPath",
                "Parameters",
                "ResultSelector",
                "ResultPath",
                "MaxConcurrencyPath",
                "ToleratedFailureCountPath",
                "ToleratedFailurePercentagePath",
            },
            QL.JSONATA: frozenset({"Items", "Output"}),
        },
    ),
}

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def is_rfc3339(text: str) -> bool:
    """Whether ``text`` is an RFC 3339 date-time with a 'T', seconds and an offset (``Z`` or ``+hh:mm``).

    Example:
        >>> is_rfc3339("2016-03-14T01:59:00Z"), is_rfc3339("2016-12-05 21:29:29Z"), is_rfc3339("2016-13-05T21:29:29Z")
        (True, False, False)
    """  # noqa: E501
    if not _RFC3339.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_jsonata(value: Any) -> bool:
    """``{% ... %}`` (AWS trims nothing: the string must start and end with the delimiters)."""
    try:
        from .jsonata import is_jsonata_expression
    except ImportError:  # pragma: no cover - until the expressions module lands
        return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")
    return is_jsonata_expression(value)


def payload(value: Any, ptr: str, errors: ParseErrors) -> Renderable | None:
    """Compile a JSONPath-era payload template (Parameters, ResultSelector, ItemSelector, Assign)."""
    from .payload import InvalidPayload, compile_payload

    try:
        return compile_payload(value)
    except InvalidPayload as exc:
        errors.schema(str(exc), ptr + exc.pointer)
        return None


def template(value: Any, ptr: str, errors: ParseErrors, field: str | None = None) -> Renderable | None:
    """Compile a JSONata template (Arguments, Output, Assign, Items, ...): ``{% %}`` strings anywhere.

    ``field`` names it in run-time causes ("... specified for the field 'Output/result' ..."); by
    default the last segment of ``ptr``.
    """
    from .jsonata import compile_template

    try:
        return compile_template(value, field or ptr.rsplit("/", 1)[-1])
    except Exception as exc:
        errors.schema(getattr(exc, "message", None) or str(exc), ptr)
        return None
