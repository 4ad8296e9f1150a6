"""``Deadlines``: one timer for the Express limit of every running execution, with ``asyncio.timeout``'s
outcomes (TimeoutError for the expired, a shutdown's cancel left a cancel)."""

from __future__ import annotations

import asyncio

from asyncgate.local.deadlines import Deadlines


def test_each_task_expires_at_its_own_deadline_and_no_sooner() -> None:
    async def scenario() -> list[str]:
        limit = Deadlines(0.05)

        async def run(start: float, work: float) -> str:
            await asyncio.sleep(start)
            try:
                async with limit:
                    await asyncio.sleep(work)
            except TimeoutError:
                return "timed out"
            return "done"

        # started 0, 20, 40, 60 ms in: the timer, set for the first deadline, re-arms for each next one
        return await asyncio.gather(run(0.0, 1), run(0.02, 0.01), run(0.04, 1), run(0.06, 0.02))

    assert asyncio.run(scenario()) == ["timed out", "done", "timed out", "done"]


def test_a_shutdown_cancel_stays_a_cancel_even_past_the_deadline() -> None:
    async def scenario() -> str:
        limit = Deadlines(0.01)
        entered = asyncio.Event()

        async def run() -> None:
            async with limit:
                entered.set()
                try:
                    await asyncio.sleep(1)
                except asyncio.CancelledError:
                    await asyncio.sleep(0.03)  # the deadline passes while it unwinds
                    raise

        task = asyncio.get_running_loop().create_task(run())
        await entered.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "timed out"
        return "done"

    assert asyncio.run(scenario()) == "cancelled"


def test_a_task_that_catches_nothing_leaves_no_timer_or_entry_behind() -> None:
    async def scenario() -> tuple[int, int]:
        limit = Deadlines(60)
        for _ in range(100):
            async with limit:
                await asyncio.sleep(0)
        return len(limit._running), len(limit._expired)

    assert asyncio.run(scenario()) == (0, 0)


def test_a_second_event_loop_gets_a_timer_of_its_own() -> None:
    """Tests (and a runtime started again) use one Deadlines from successive loops: the first loop's
    timer died with it, so the second loop's tasks must still expire."""
    limit = Deadlines(0.02)

    async def slow() -> str:
        try:
            async with limit:
                await asyncio.sleep(0.2)  # the first loop ends with its timer still pending
        except TimeoutError:
            return "timed out"
        return "done"

    async def first() -> None:
        task = asyncio.get_running_loop().create_task(slow())
        await asyncio.sleep(0)
        task.cancel()  # the loop goes away with the task inside the block

    asyncio.run(first())
    assert asyncio.run(slow()) == "timed out"
