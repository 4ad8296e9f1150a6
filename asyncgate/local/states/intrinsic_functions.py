"""The ``States.*`` intrinsic functions themselves: pure functions over evaluated JSON arguments.

``intrinsics.py`` parses a call and evaluates its arguments; this module holds what each function does,
following the Step Functions developer guide ("Intrinsic functions for JSONPath states"). Every failure
is ``StatesError("States.IntrinsicFailure", cause)``. The corpus of AWS recordings has no failing
intrinsic, so the causes are ours, in one shape: ``Invalid arguments in States.X: <why>``.

Example:
    >>> FUNCTIONS["States.MathAdd"].call([1.5, -1])
    1
    >>> FUNCTIONS["States.StringSplit"].call(["a,,b", ","])
    ['a', 'b']
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..jsontext import compact
from .errors import StatesError, StatesErrorName

__all__ = ["FUNCTIONS", "Function", "format_value", "java_hashmap_order", "json_dumps", "json_equal_key"]

#: "can contain up to 10,000 characters" (Base64Encode/Decode, Hash); ArrayRange "up to 1000 items"
MAX_STRING = 10_000
MAX_RANGE = 1000
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _fail(name: str, why: str) -> StatesError:
    return StatesError(StatesErrorName.INTRINSIC_FAILURE, f"Invalid arguments in {name}: {why}")


def json_dumps(value: Any) -> str:
    """Compact JSON as AWS writes it (``{"a":1}``), non-ASCII kept as is."""
    return compact(value)


def json_equal_key(value: Any) -> str:
    """A key equal for JSON-equal values (object key order ignored; ``true`` differs from ``1``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def format_value(value: Any) -> str:
    """How States.Format prints a value: strings raw, objects Java-style ``{Id=..., Name=...}``.

    Recorded: ``States.Format('... {}.', $$.StateMachine)`` gave ``{Id=arn:..., Name=...}``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={format_value(v)}" for k, v in value.items()) + "}"
    return json_dumps(value)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _java_round(v: float) -> int:
    """Java's Math.round (half up): the corpus has MathAdd(-2.5, 0) = -2 and MathAdd(2.5, 0) = 3."""
    return int(v) if isinstance(v, int) else math.floor(v + 0.5)


def _integer(name: str, v: Any, what: str) -> int:
    if not _is_number(v) or (isinstance(v, float) and not math.isfinite(v)):
        raise _fail(name, f"{what} must be a number, but was {json_dumps(v)}")
    return _java_round(v)


def _string(name: str, v: Any, what: str, limit: int | None = None) -> str:
    if not isinstance(v, str):
        raise _fail(name, f"{what} must be a string, but was {json_dumps(v)}")
    if limit is not None and len(v) > limit:
        raise _fail(name, f"{what} must contain at most {limit} characters, but had {len(v)}")
    return v


def _array(name: str, v: Any, what: str = "the first argument") -> list[Any]:
    if not isinstance(v, list):
        raise _fail(name, f"{what} must be an array, but was {json_dumps(v)}")
    return v


def _format(args: list[Any]) -> str:  # pragma: no cover - States.Format is special-cased by the caller
    raise AssertionError("States.Format is rendered by intrinsics.FormatCall")


def _string_to_json(args: list[Any]) -> Any:
    text = _string("States.StringToJson", args[0], "the argument")
    if not text.strip():  # recorded: "" and " " both give null
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise _fail("States.StringToJson", f"the argument is not valid JSON: {text}") from None


def _array_partition(args: list[Any]) -> list[list[Any]]:
    items = _array("States.ArrayPartition", args[0])
    size = _integer("States.ArrayPartition", args[1], "the chunk size")
    if size <= 0:
        raise _fail("States.ArrayPartition", f"the chunk size must be greater than 0, but was {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_contains(args: list[Any]) -> bool:
    key = json_equal_key(args[1])
    return any(json_equal_key(item) == key for item in _array("States.ArrayContains", args[0]))


def _array_range(args: list[Any]) -> list[int]:
    name = "States.ArrayRange"
    start = _integer(name, args[0], "the start")
    end = _integer(name, args[1], "the end")
    step = _integer(name, args[2], "the step")
    if step == 0:
        raise _fail(name, "the step must not be 0")
    count = max(0, (end - start) // step + 1)
    if count > MAX_RANGE:
        raise _fail(name, f"the array would have {count} items, more than {MAX_RANGE}")
    return list(range(start, end + (1 if step > 0 else -1), step))


def _array_get_item(args: list[Any]) -> Any:
    items = _array("States.ArrayGetItem", args[0])
    index = _integer("States.ArrayGetItem", args[1], "the index")
    if not 0 <= index < len(items):
        raise _fail("States.ArrayGetItem", f"the index {index} is out of bounds for an array of {len(items)}")
    return items[index]


def _array_unique(args: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for item in _array("States.ArrayUnique", args[0]):
        key = json_equal_key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _base64_encode(args: list[Any]) -> str:
    text = _string("States.Base64Encode", args[0], "the argument", MAX_STRING)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(args: list[Any]) -> str:
    text = _string("States.Base64Decode", args[0], "the argument", MAX_STRING)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise _fail("States.Base64Decode", f"the argument is not valid base64: {text}") from None


def _hash(args: list[Any]) -> str:
    data = _string("States.Hash", args[0], "the data", MAX_STRING)
    algorithm = args[1]
    if not isinstance(algorithm, str) or algorithm not in _HASHES:
        raise _fail(
            "States.Hash",
            f"the algorithm must be one of {', '.join(_HASHES)}, but was {json_dumps(algorithm)}",
        )
    return hashlib.new(_HASHES[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(args: list[Any]) -> dict[str, Any]:
    name = "States.JsonMerge"
    left, right, deep = args
    if not isinstance(left, dict) or not isinstance(right, dict):
        raise _fail(name, "the first two arguments must be JSON objects")
    if not isinstance(deep, bool):
        raise _fail(name, f"the third argument must be a boolean, but was {json_dumps(deep)}")
    if deep:  # the guide: "Set the boolean value to false to merge in shallow mode" - the only mode
        raise _fail(name, "deep merging is not supported; the third argument must be false")
    return java_hashmap_order({**left, **right})


def _java_hash(key: str) -> int:
    h = 0
    data = key.encode("utf-16-be")
    for i in range(0, len(data), 2):  # Java hashes UTF-16 code units
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h ^ (h >> 16)


def java_hashmap_order(obj: dict[str, Any]) -> dict[str, Any]:
    """The object with its keys in a java.util.HashMap's iteration order.

    AWS's JsonMerge result comes out in that order: recorded, merging {a, b, d} with {a, c, d} gives
    a, b, c, d, and {constant_in_literal} with {constant_input_field} gives constant_input_field first.
    Buckets ascend; a bucket keeps insertion order (resizing splits buckets but keeps that order).

    Example:
        >>> list(java_hashmap_order({"constant_in_literal": 1, "constant_input_field": 2}))
        ['constant_input_field', 'constant_in_literal']
    """
    size = 16
    while len(obj) > size * 3 // 4:
        size *= 2
    keys = sorted(enumerate(obj), key=lambda item: (_java_hash(item[1]) & (size - 1), item[0]))
    return {k: obj[k] for _, k in keys}


def _math_random(args: list[Any]) -> int:
    name = "States.MathRandom"
    start = _integer(name, args[0], "the start")
    end = _integer(name, args[1], "the end")
    if end <= start:
        raise _fail(name, f"the end ({end}) must be greater than the start ({start})")
    rng = random.Random(_integer(name, args[2], "the seed")) if len(args) == 3 else random
    return rng.randrange(start, end)


def _math_add(args: list[Any]) -> int:
    total = _integer("States.MathAdd", args[0], "the first argument") + _integer(
        "States.MathAdd", args[1], "the second argument"
    )
    if not -(2**31) <= total < 2**31:
        raise _fail("States.MathAdd", f"the result {total} is out of the integer range")
    return total


def _string_split(args: list[Any]) -> list[str]:
    """Split on any of the delimiter characters, dropping empty tokens (Java's StringTokenizer).

    Recorded: ``StringSplit(",,,,", ",")`` is ``[]``; ``(", , ,", ",")`` is ``[" ", " "]``.
    """
    text = _string("States.StringSplit", args[0], "the first argument")
    delims = _string("States.StringSplit", args[1], "the delimiter")
    tokens: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch in delims:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        tokens.append("".join(current))
    return tokens


@dataclass(frozen=True, slots=True)
class Function:
    """One intrinsic: its arity (checked when a definition is parsed) and its implementation."""

    name: str
    min_args: int
    max_args: int | None
    impl: Callable[[list[Any]], Any]

    def call(self, args: list[Any]) -> Any:
        """Apply to evaluated arguments; raises StatesError(States.IntrinsicFailure) on bad input."""
        return self.impl(args)


def _fn(name: str, lo: int, hi: int | None, impl: Callable[[list[Any]], Any]) -> tuple[str, Function]:
    return "States." + name, Function("States." + name, lo, hi, impl)


FUNCTIONS: dict[str, Function] = dict(
    [
        _fn("Format", 1, None, _format),
        _fn("StringToJson", 1, 1, _string_to_json),
        _fn("JsonToString", 1, 1, lambda a: json_dumps(a[0])),
        _fn("Array", 0, None, list),
        _fn("ArrayPartition", 2, 2, _array_partition),
        _fn("ArrayContains", 2, 2, _array_contains),
        _fn("ArrayRange", 3, 3, _array_range),
        _fn("ArrayGetItem", 2, 2, _array_get_item),
        _fn("ArrayLength", 1, 1, lambda a: len(_array("States.ArrayLength", a[0], "the argument"))),
        _fn("ArrayUnique", 1, 1, _array_unique),
        _fn("Base64Encode", 1, 1, _base64_encode),
        _fn("Base64Decode", 1, 1, _base64_decode),
        _fn("Hash", 2, 2, _hash),
        _fn("JsonMerge", 3, 3, _json_merge),
        _fn("MathRandom", 2, 3, _math_random),
        _fn("MathAdd", 2, 2, _math_add),
        _fn("StringSplit", 2, 2, _string_split),
        _fn("UUID", 0, 0, lambda a: str(uuid.uuid4())),
    ]
)
"""Every ``States.*`` function by its full name."""
