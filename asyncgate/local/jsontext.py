"""Compact JSON text (``{"a":1}``, non-ASCII kept as is), with CPython's C encoder built once.

Why: the engine turns values into JSON text all the time — every history event's input and output,
every vended log line, the 256 KiB checks — and ``json.dumps`` (like ``JSONEncoder.encode``) builds a
new C encoder object on each call before encoding; under the intake load that construction was a
third of the JSON time in the Express worker (py-spy). ``compact`` builds it once and calls it. The
output is ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``, character for character
(``tests/local/test_jsontext.py`` checks that with hypothesis). There is no check for circular
references: the values come from parsed JSON text, which has none.

``spaced`` is the same for ``json.dumps(value, ensure_ascii=False)`` (``{"a": 1, "b": 2}``): the form
history details have always been stored in (``sfn_history.details``), kept so that databases written
before and after read the same, at one encoder per process instead of one per event.

Example:
    >>> compact({"a": [1, 2.5, None, True], "é": "\\n"})
    '{"a":[1,2.5,null,true],"é":"\\\\n"}'
    >>> spaced({"a": [1, 2], "é": None})
    '{"a": [1, 2], "é": null}'
"""

from __future__ import annotations

import json
from json import encoder as _encoder
from typing import Any

__all__ = ["compact", "spaced"]


def _unserializable(value: Any) -> Any:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


_make = getattr(_encoder, "c_make_encoder", None)
#: the C encoder, built once (None on an interpreter without the accelerator)
_chunks = (
    _make(None, _unserializable, _encoder.encode_basestring, None, ":", ",", False, False, True)
    if _make is not None
    else None
)
_fallback = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_spaced_chunks = (
    _make(None, _unserializable, _encoder.encode_basestring, None, ": ", ", ", False, False, True)
    if _make is not None
    else None
)
_spaced_fallback = json.JSONEncoder(ensure_ascii=False).encode


def compact(value: Any) -> str:
    """``value`` as compact JSON text."""
    if isinstance(value, str):
        return str(_encoder.encode_basestring(value))
    if _chunks is None:
        return _fallback(value)
    return "".join(_chunks(value, 0))


def spaced(value: Any) -> str:
    """``value`` as ``json.dumps(value, ensure_ascii=False)`` writes it."""
    if isinstance(value, str):
        return str(_encoder.encode_basestring(value))
    if _spaced_chunks is None:
        return _spaced_fallback(value)
    return "".join(_spaced_chunks(value, 0))
