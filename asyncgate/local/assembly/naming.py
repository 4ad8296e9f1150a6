"""CloudFormation's naming: stable "random" tokens, generated names, and scalar text.

CloudFormation appends random characters to generated names; here they are derived from a hash of
(stack name, logical id), so every physical id — and every ARN a durable execution stored — is the same
after a restart.
"""

from __future__ import annotations

import hashlib
from typing import Any

from asyncgate.local.assembly.model import ResolutionError

__all__ = [
    "LOWER_ALNUM",
    "MIXED_ALNUM",
    "NO_VALUE",
    "UPPER_ALNUM",
    "URL_SUFFIX",
    "NoValue",
    "cfn_text",
    "generated_name",
    "stable_token",
]

URL_SUFFIX = "amazonaws.com"
UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
MIXED_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


class NoValue:
    """``AWS::NoValue``: the key or list element holding it disappears."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = NoValue()


def stable_token(alphabet: str, length: int, *parts: str) -> str:
    """``length`` characters of ``alphabet`` derived from a hash of ``parts``: random-looking, stable."""
    n = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest(), "big")
    out = []
    for _ in range(length):
        n, i = divmod(n, len(alphabet))
        out.append(alphabet[i])
    return "".join(out)


def generated_name(stack: str, logical_id: str, max_len: int, *, lower: bool = False) -> str:
    """CloudFormation's ``<stack>-<logicalId>-<13 random>``, truncated to ``max_len``, hash for random."""
    suffix = stable_token(UPPER_ALNUM, 13, stack, logical_id)
    budget = max(max_len - len(suffix) - 2, 2)
    s, lid = stack, logical_id
    if len(s) + len(lid) > budget:
        s = s[: max(budget // 2, budget - len(lid))]
        lid = lid[: budget - len(s)]
    name = f"{s}-{lid}-{suffix}"
    return name.lower() if lower else name


def cfn_text(value: Any) -> str:
    """A resolved scalar as CloudFormation's string (``true``, ``3``); lists and objects are errors."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ResolutionError(f"expected a string, got {type(value).__name__} {value!r}")

