"""The event loop's lag: a wake-up that came late is observed as late as it came."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from api.ops.loop_lag import watch_lag
from tests.api.ops.test_metrics import samples
from tests.live import ThreadServer


async def test_a_loop_held_by_other_work_shows_as_lag() -> None:
    seen: list[float] = []
    watcher = asyncio.create_task(watch_lag(seen.append, interval=0.05))
    try:
        while not seen:  # watching
            await asyncio.sleep(0.01)
        time.sleep(0.3)  # work that holds the loop (CPU, a blocking call)
        count = len(seen)
        while len(seen) == count:  # the wake-up that was due meanwhile
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    # held for 0.3 s, it was due at most 0.05 s in: at least 0.25 s late, however busy the
    # machine (a busier one only makes it later)
    assert max(seen) >= 0.25
    assert min(seen) >= 0.0


async def test_metrics_show_the_servers_loop_lag(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    count = ("centralino_event_loop_lag_seconds_count", ())

    async def observed() -> None:
        while samples((await client.get("/metrics")).text).get(count, 0) < 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(observed(), 60)  # the bound only keeps a regression from hanging
