"""The dashboard's per-second cache (`rooms.NowCache`) on the event loop, with computations
that take as long as a test says: what a request gets while the next second's value is made."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

from ventwatch.dashboard.rooms import NowCache

T0 = datetime(2026, 11, 17, 10, 0, 0, tzinfo=UTC)


def test_a_request_gets_the_last_seconds_value_while_the_next_is_made() -> None:
    async def scenario() -> None:
        cache = NowCache()
        assert await cache.aget(T0, "rooms", lambda: "at 10:00:00") == "at 10:00:00"

        started, release = threading.Event(), threading.Event()
        runs = []

        def slow() -> str:
            runs.append(1)
            started.set()
            release.wait(10)
            return "at 10:00:01"

        t1 = T0 + timedelta(seconds=1, milliseconds=300)
        # At once, and however many ask, while one computation of the new value runs.
        for _ in range(5):
            assert await cache.aget(t1, "rooms", slow) == "at 10:00:00"
        assert await asyncio.to_thread(started.wait, 10)
        release.set()
        for _ in range(500):
            if await cache.aget(t1, "rooms", slow) == "at 10:00:01":
                break
            await asyncio.sleep(0.01)
        assert await cache.aget(t1, "rooms", slow) == "at 10:00:01"
        assert len(runs) == 1

        # Another key of the new second: the last second's, while it is made.
        assert await cache.aget(t1, "tiles", lambda: "tiles 1") == "tiles 1"  # none before
        t2 = T0 + timedelta(seconds=2)
        assert await cache.aget(t2, "tiles", lambda: "tiles 2") == "tiles 1"
        # Nothing from the second before: the request waits for the value of its own.
        t5 = T0 + timedelta(seconds=5)
        assert await cache.aget(t5, "rooms", lambda: "at 10:00:05") == "at 10:00:05"

    asyncio.run(scenario())


def test_a_failed_computation_in_the_background_is_tried_again() -> None:
    async def scenario() -> None:
        cache = NowCache()
        await cache.aget(T0, "rooms", lambda: "old")

        def broken() -> str:
            raise RuntimeError("store down")

        t1 = T0 + timedelta(seconds=1)
        assert await cache.aget(t1, "rooms", broken) == "old"
        for _ in range(500):  # the background attempt ends (and is logged)
            if not cache._refreshing:
                break
            await asyncio.sleep(0.01)
        assert await cache.aget(t1, "rooms", lambda: "new") == "old"  # a new attempt...
        for _ in range(500):
            if await cache.aget(t1, "rooms", lambda: "new") == "new":
                break
            await asyncio.sleep(0.01)
        assert await cache.aget(t1, "rooms", lambda: "newer") == "new"  # ...that took

    asyncio.run(scenario())
