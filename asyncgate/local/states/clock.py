"""Time as the engine sees it: ``now()`` for timestamps and ``await sleep(s)`` for Wait and Retry.

Why a protocol: Wait states, retry back-off and timeouts are where a local runtime either makes
users wait for real (a 6-attempt CDK default retry sleeps 2+4+8+16+32 s) or lies. ``SystemClock`` is
AWS's behaviour; ``ScaledClock`` backs ``--time-scale N`` (LocalStack users ask for it, #13099);
``VirtualClock`` lets tests run an hour of Waits in microseconds and assert the exact delays.

Example:
    >>> import asyncio
    >>> clock = VirtualClock(start=1_700_000_000.0)
    >>> asyncio.run(clock.sleep(30)); clock.time()
    1700000030.0
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import math
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Protocol, TypeVar, runtime_checkable

__all__ = [
    "Clock",
    "DeadlineExceeded",
    "ScaledClock",
    "SystemClock",
    "VirtualClock",
    "iso_millis",
    "within",
]

T = TypeVar("T")


@runtime_checkable
class Clock(Protocol):
    """Where the engine gets time from. ``time()`` is epoch seconds; ``now()`` the same as a datetime."""

    def time(self) -> float: ...

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time and real ``asyncio.sleep``: what AWS does.

    Example:
        >>> SystemClock().time() > 1.7e9
        True
    """

    def time(self) -> float:
        return time.time()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        # until the wall-clock deadline: the loop's monotonic timers may wake a little early, and a
        # Wait must never read shorter than its Seconds in the history
        deadline = time.time() + seconds
        while (left := deadline - time.time()) > 0:
            await asyncio.sleep(left)


class ScaledClock:
    """Time that runs ``scale`` times faster than the wall clock (``--time-scale N``).

    A 60 s Wait under ``ScaledClock(60)`` takes one real second, and ``now()`` has moved 60 s, so a
    Wait with a Timestamp and the timestamps in history stay consistent with each other.

    Example:
        >>> c = ScaledClock(1000.0)
        >>> abs(c.time() - time.time()) < 5
        True
    """

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()

    def time(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.scale

    def catch_up(self, moment: float) -> None:
        """Never run behind ``moment`` (the last time recorded before a restart): scaled time ran ahead
        of the wall clock then, and history must not go backwards across the restart."""
        behind = moment - self.time()
        if behind > 0:
            self._origin_wall += behind

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    async def sleep(self, seconds: float) -> None:
        # loop until the scaled deadline: the event loop may wake a timer a little early, and a
        # 60 s Wait must never read as 59.99 s in the history
        deadline = self.time() + seconds
        while (left := deadline - self.time()) > 0:
            await asyncio.sleep(left / self.scale)


class VirtualClock:
    """A test clock: ``sleep`` returns as soon as every other task is blocked, with time advanced.

    Sleepers wake in deadline order; ``sleeps`` records each requested delay so tests can assert
    back-off sequences. Time only moves when all runnable tasks have yielded (checked by letting the
    loop spin a few times), so concurrent branches still interleave as they would in real time.
    Work that waits on real I/O (a Lambda worker process) looks idle to it, so a timeout racing such
    work fires at once: tests with real Lambdas use ``SystemClock``.

    Example:
        >>> import asyncio
        >>> c = VirtualClock(start=0.0)
        >>> async def two():
        ...     await asyncio.gather(c.sleep(5), c.sleep(2))
        >>> asyncio.run(two()); (c.time(), c.sleeps)
        (5.0, [5, 2])
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def time(self) -> float:
        return self._now

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now, UTC)

    def advance(self, seconds: float) -> None:
        """Move time forward by hand (wakes nobody; use for Timestamp Waits in the past/future)."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self._now + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(20):  # let every runnable task reach its next await
                await asyncio.sleep(0)
            while self._heap and self._heap[0][2].done():  # cancelled sleepers
                heapq.heappop(self._heap)
            if not self._heap:
                return
            deadline, _, fut = heapq.heappop(self._heap)
            self._now = max(self._now, deadline)
            fut.set_result(None)


def iso_millis(epoch: float) -> str:
    """AWS's context-object timestamp form: ``2024-01-01T00:00:00.000Z``.

    Every state builds its context object (``$$.State.EnteredTime``), so this runs several times
    per execution; the date-and-time part is formatted once per second (``_second_prefix``) and the
    milliseconds rounded exactly as ``datetime.fromtimestamp`` rounds (half-even microseconds).

    Example:
        >>> iso_millis(0.5), iso_millis(1_700_000_000.9999996)
        ('1970-01-01T00:00:00.500Z', '2023-11-14T22:13:21.000Z')
    """
    whole = math.floor(epoch)
    micros = round((epoch - whole) * 1e6)
    if micros >= 1_000_000:
        whole += 1
        micros -= 1_000_000
    return f"{_second_prefix(whole)}{micros // 1000:03d}Z"


@functools.lru_cache(maxsize=64)
def _second_prefix(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(whole))


class DeadlineExceeded(Exception):  # noqa: N818 - reads as the event it is
    """``within`` ran out of time before the work finished."""


async def within(clock: Clock, seconds: float | None, work: Awaitable[T]) -> T:
    """Await ``work``, or cancel it and raise DeadlineExceeded after ``seconds`` of *clock* time.

    Unlike ``asyncio.timeout`` this follows the injected clock, so a VirtualClock fast-forwards
    TimeoutSeconds just as it does Waits.

    Example:
        >>> import asyncio
        >>> c = VirtualClock(start=0.0)
        >>> async def slow():
        ...     await c.sleep(10)
        >>> async def main():
        ...     try:
        ...         await within(c, 3, slow())
        ...     except DeadlineExceeded:
        ...         return c.time()
        >>> asyncio.run(main())
        3.0
    """
    if seconds is None:
        return await work
    task = asyncio.ensure_future(work)
    timer = asyncio.ensure_future(clock.sleep(seconds))
    try:
        done, _ = await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        task.cancel()
        timer.cancel()
        raise
    if task in done:
        timer.cancel()
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await task
    raise DeadlineExceeded()
