"""One timer for the time limit that every running execution of a kind shares (Express's five minutes).

Why not ``asyncio.timeout`` per execution: it schedules (and cancels) an event-loop timer for every
execution, and an Express execution is over in about a millisecond, four orders of magnitude before
its limit. Under the seed's load that per-execution timer was ~4% of the Express worker's CPU
(py-spy). Every execution here has the same limit, so deadlines fall in start order: ``Deadlines``
keeps the running tasks in a dict (insertion order is deadline order) and one timer, set for the
oldest one's deadline. When it fires, the overdue tasks at the front are cancelled; the timer is then
set for the next deadline, if any task is left.

The timer belongs to an event loop: entered from another loop (tests run several, one after the
other), a ``Deadlines`` forgets the old loop's tasks and timer and starts afresh on the new one. It
serves one loop at a time.

Inside ``async with deadlines:``, an expired task sees ``CancelledError`` as ``asyncio.timeout``
delivers it, and the block exits with ``TimeoutError`` — unless the task was also cancelled by
someone else (a shutdown), which then goes on as a cancellation (``Task.uncancel``).

Example:
    >>> import asyncio
    >>> async def main():
    ...     limit = Deadlines(0.01)
    ...     async def slow():
    ...         async with limit:
    ...             await asyncio.sleep(1)
    ...     async def quick():
    ...         async with limit:
    ...             return "done"
    ...     results = await asyncio.gather(slow(), quick(), return_exceptions=True)
    ...     return [type(r).__name__ if isinstance(r, BaseException) else r for r in results]
    >>> asyncio.run(main())
    ['TimeoutError', 'done']
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["Deadlines"]


class Deadlines:
    """The same time limit, ``seconds``, for every task inside ``async with``."""

    __slots__ = ("_expired", "_loop", "_running", "_seconds", "_timer")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        #: task -> deadline (loop time), in start order, which is deadline order
        self._running: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> None:
        task = asyncio.current_task()
        assert task is not None, "Deadlines is used inside a task"
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop: the old one's tasks and timer went with it
            self._loop, self._timer = loop, None
            self._running.clear()
            self._expired.clear()
        deadline = loop.time() + self._seconds
        self._running[task] = deadline
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.pop(task, None)
        if task in self._expired:  # our cancel is taken back whatever the block ended with
            self._expired.discard(task)
            if task.uncancel() == 0 and kind is asyncio.CancelledError:
                raise TimeoutError from exc

    def _expire(self) -> None:
        """Cancel the tasks whose deadline passed; set the timer for the next deadline."""
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        overdue = []
        for task, deadline in self._running.items():
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                break
            overdue.append(task)
        for task in overdue:
            del self._running[task]
            self._expired.add(task)
            task.cancel()
