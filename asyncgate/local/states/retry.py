"""Retry and Catch: which handler an error name selects, and how long to back off.

Pure functions so the timing can be tested without running anything and the service can persist the
per-retrier attempt counters with the execution. Rules (States Language spec, "Error Handling", and
the Step Functions developer guide):

- A retrier's counter counts *its own* retries. The first retrier whose ErrorEquals matches wins; when
  its MaxAttempts is spent (0 means never retry) no other retrier is tried and Catch takes over.
- Delay before retry n (0-based) is ``IntervalSeconds * BackoffRate ** n``, capped by MaxDelaySeconds;
  with ``JitterStrategy: FULL`` it is drawn uniformly from ``[0, delay]``.
- ``States.ALL`` matches every error name except ``States.Runtime`` (which nothing catches: the guide
  says runtime errors are not retriable and fail the execution). ``States.TaskFailed`` matches every
  error except ``States.Timeout``. ``States.ALL`` must stand alone and in the last handler.

Example:
    >>> r = Retrier(error_equals=("States.ALL",), interval_seconds=2, max_attempts=6, backoff_rate=2)
    >>> [next_delay((r,), "Lambda.ServiceException", [n]) for n in (0, 1, 5, 6)]
    [2.0, 4.0, 64.0, None]
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .model import Catcher, Retrier

if TYPE_CHECKING:
    from .parse_fields import ParseErrors

__all__ = ["error_matches", "find_catcher", "next_delay", "parse_retrier", "plan_retry"]

_UNCATCHABLE = frozenset({"States.Runtime"})


def error_matches(error_equals: Sequence[str], error: str | None) -> bool:
    """Whether a handler's ErrorEquals selects ``error`` (None: a Fail state that names no Error,
    which only ``States.ALL`` and ``States.TaskFailed`` select).

    Example:
        >>> error_matches(["States.TaskFailed"], "States.Timeout"), error_matches(["States.ALL"], "Boom")
        (False, True)
    """
    if error in _UNCATCHABLE:
        return False
    for name in error_equals:
        if name == error or name == "States.ALL":
            return True
        if name == "States.TaskFailed" and error != "States.Timeout":
            return True
    return False


def plan_retry(
    retriers: Sequence[Retrier],
    error: str | None,
    attempts: Sequence[int],
    *,
    rand: Callable[[], float] = random.random,
) -> tuple[int, float] | None:
    """``(retrier index, delay)`` for the next retry of ``error``, or None when Catch takes over.

    ``attempts[i]`` is how many times retrier ``i`` has already retried.
    """
    for i, r in enumerate(retriers):
        if not error_matches(r.error_equals, error):
            continue
        n = attempts[i] if i < len(attempts) else 0
        if n >= r.max_attempts:
            return None
        delay = float(r.interval_seconds) * float(r.backoff_rate) ** n
        if r.max_delay_seconds is not None:
            delay = min(delay, float(r.max_delay_seconds))
        if r.jitter_strategy == "FULL":
            delay = rand() * delay
        return i, delay
    return None


def next_delay(retriers: Sequence[Retrier], error: str, attempts: Sequence[int]) -> float | None:
    """Seconds to wait before retrying ``error``, or None when no retrier applies any more.

    Example:
        >>> r = Retrier(error_equals=("E",), interval_seconds=1, max_attempts=10, backoff_rate=3,
        ...             max_delay_seconds=5)
        >>> [next_delay([r], "E", [n]) for n in range(4)]
        [1.0, 3.0, 5.0, 5.0]
    """
    plan = plan_retry(retriers, error, attempts)
    return None if plan is None else plan[1]


def find_catcher(catchers: Sequence[Catcher], error: str | None) -> Catcher | None:
    """The first Catch entry whose ErrorEquals selects ``error``.

    Example:
        >>> c = Catcher(error_equals=("States.ALL",), next="Recover")
        >>> find_catcher([c], "Oops").next, find_catcher([c], "States.Runtime")
        ('Recover', None)
    """
    for c in catchers:
        if error_matches(c.error_equals, error):
            return c
    return None


def parse_retrier(raw: Any, ptr: str, errors: ParseErrors) -> Retrier | None:
    """One ``Retry`` element -> Retrier, checking the spec's bounds (BackoffRate >= 1, ...)."""
    from .parse import error_equals

    if not isinstance(raw, Mapping):
        errors.schema("Expected value of type: OBJECT", ptr)
        return None
    allowed = {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
    for key in raw:
        if key not in allowed:
            errors.schema(f"Field '{key}' is not supported", ptr)
    eq = error_equals(raw, ptr, errors)
    kw: dict[str, Any] = {"error_equals": eq, "comment": raw.get("Comment")}
    for key, attr, lo, integer in (
        ("IntervalSeconds", "interval_seconds", 1, True),
        ("MaxAttempts", "max_attempts", 0, True),
        ("BackoffRate", "backoff_rate", 1.0, False),
        ("MaxDelaySeconds", "max_delay_seconds", 1, True),
    ):
        if key not in raw:
            continue
        v = raw[key]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and (not integer or float(v).is_integer())
        if not ok or v < lo:
            kind = "INTEGER" if integer else "NUMBER"
            errors.schema(f"Expected value of type: {kind} (>= {lo})", f"{ptr}/{key}")
            continue
        kw[attr] = v
    if "JitterStrategy" in raw:
        if raw["JitterStrategy"] not in ("FULL", "NONE"):
            errors.schema("Value is not a valid jitter strategy", f"{ptr}/JitterStrategy")
        else:
            kw["jitter_strategy"] = raw["JitterStrategy"]
    return Retrier(**kw)
