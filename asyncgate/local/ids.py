"""Random ids the runtime hands out: request ids, execution names, trace ids.

Why not ``uuid.uuid4()``: it reads ``os.urandom`` (a system call, ~40 µs measured under load here,
more than the rest of a StartExecution) and builds a ``UUID`` object only to print it. These ids must
be unique, not unpredictable — nothing is authorised by knowing one — so the Mersenne Twister serves,
formatted straight to AWS's text forms.

Example:
    >>> u = random_uuid()
    >>> len(u), u[14], u[19] in "89ab", u.count("-")
    (36, '4', True, 4)
    >>> len(random_hex(24))
    24
"""

from __future__ import annotations

import random

__all__ = ["random_hex", "random_uuid"]

_getrandbits = random.getrandbits
#: version 4 (bits 76-79) and RFC 4122 variant (bits 62-63), as ``uuid.UUID(version=4)`` sets them
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_SET = (4 << 76) | (0x8000 << 48)


def random_uuid() -> str:
    """A random version-4 UUID in its 8-4-4-4-12 text form."""
    h = f"{(_getrandbits(128) & _CLEAR) | _SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_hex(digits: int) -> str:
    """``digits`` random lowercase hex digits (trace ids)."""
    return f"{_getrandbits(digits * 4):0{digits}x}"
