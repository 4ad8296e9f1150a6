"""Throttling and quotas: the token bucket API Gateway uses, and usage-plan quota windows.

API Gateway throttles with a token bucket ("Throttle requests to your REST APIs"): the bucket holds
up to ``burst`` tokens, refills at ``rate`` tokens a second, and a request that finds it empty gets
429 ``{"message":"Too Many Requests"}``. Stage ``MethodSettings`` (``ThrottlingRateLimit``,
``ThrottlingBurstLimit``) give each method a bucket; a usage plan's ``Throttle`` gives each API key
one (per method where ``ApiStages[].Throttle`` names it). A usage plan's ``Quota`` counts requests per
key in a ``DAY``/``WEEK``/``MONTH`` window (UTC); past ``Limit`` the key gets 429
``{"message":"Limit Exceeded"}`` until the window turns.

Counters live in memory: a restarted server starts with full buckets and fresh quotas.

Example:
    >>> bucket = TokenBucket(Throttle(rate=1.0, burst=2), now=0.0)
    >>> [bucket.take(0.0), bucket.take(0.0), bucket.take(0.0), bucket.take(1.0)]
    [True, True, False, True]
    >>> window_start("DAY", 0, 86_400 * 3 + 5), window_start("MONTH", 0, 86_400 * 40)
    (259200.0, 2678400.0)
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Quota", "QuotaCounter", "Throttle", "TokenBucket", "window_start"]


@dataclass(frozen=True, slots=True)
class Throttle:
    """A steady ``rate`` (requests per second) and a ``burst`` (the bucket's size)."""

    rate: float
    burst: int

    @classmethod
    def parse(cls, raw: Any) -> Throttle | None:
        """From ``{"RateLimit", "BurstLimit"}`` (a usage plan's ``Throttle``); None when absent."""
        if not isinstance(raw, dict) or ("RateLimit" not in raw and "BurstLimit" not in raw):
            return None
        rate = float(raw.get("RateLimit", 10_000))
        return cls(rate, int(raw.get("BurstLimit", max(int(rate), 1))))


@dataclass(slots=True)
class TokenBucket:
    """One bucket; ``take`` spends a token if there is one."""

    limit: Throttle
    now: float
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = float(self.limit.burst)

    def take(self, now: float) -> bool:
        """Refill for the time since the last call, then spend one token; False when empty."""
        elapsed = max(now - self.now, 0.0)
        self.now = now
        self.tokens = min(float(self.limit.burst), self.tokens + elapsed * self.limit.rate)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass(frozen=True, slots=True)
class Quota:
    """A usage plan's ``Quota``: ``limit`` requests per ``period``, the window moved by ``offset``."""

    limit: int
    period: str
    offset: int = 0

    @classmethod
    def parse(cls, raw: Any) -> Quota | None:
        """From ``{"Limit", "Period", "Offset"}``; None when absent."""
        if not isinstance(raw, dict) or "Limit" not in raw:
            return None
        return cls(int(raw["Limit"]), str(raw.get("Period", "DAY")).upper(), int(raw.get("Offset", 0)))


def window_start(period: str, offset: int, now: float) -> float:
    """Epoch seconds at which the quota window holding ``now`` opened (UTC; weeks start on Monday).

    ``offset`` shifts the window by days (a week's or month's) as the usage plan API's ``offset``.
    """
    t = time.gmtime(now)
    day = calendar.timegm((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0))
    if period == "DAY":
        return float(day)
    if period == "WEEK":
        start = day - t.tm_wday * 86_400 + offset * 86_400
        return float(start if start <= now else start - 7 * 86_400)
    start = calendar.timegm((t.tm_year, t.tm_mon, 1, 0, 0, 0)) + offset * 86_400
    if start > now:  # the window opened in the previous month
        year, month = (t.tm_year, t.tm_mon - 1) if t.tm_mon > 1 else (t.tm_year - 1, 12)
        start = calendar.timegm((year, month, 1, 0, 0, 0)) + offset * 86_400
    return float(start)


@dataclass(slots=True)
class QuotaCounter:
    """Requests counted in the current window of one key's quota."""

    quota: Quota
    window: float = -1.0
    used: int = 0

    def take(self, now: float) -> bool:
        """Count one request; False once the window's limit is spent."""
        start = window_start(self.quota.period, self.quota.offset, now)
        if start != self.window:
            self.window, self.used = start, 0
        if self.used >= self.quota.limit:
            return False
        self.used += 1
        return True
