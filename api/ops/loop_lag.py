"""How late the event loop runs what is due: the router's saturation, as /metrics shows it.

Everything of a router process runs on one event loop (HTTP intake, the desktops'
websockets, the engine's calls, on SQLite the journal's statements). When that loop has
more work than time, every request waits for its turn, and nothing else on /metrics says
so: an engine call still takes 0.05 ms and a commit 2 ms while the 202s wait 100 ms for the
loop. A task asks to be woken every ``INTERVAL`` seconds and records how much later than
asked it ran (``centralino_event_loop_lag_seconds``): a p99 of a few ms is an idle loop;
tens of ms, a loop that is the bottleneck (or a long piece of work that held it, such as a
full garbage collection).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

INTERVAL = 0.1  # s between wake-ups: 10 a second, nothing to speak of
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


async def watch_lag(observe: Callable[[float], None], interval: float = INTERVAL) -> None:
    """Until cancelled: sleep ``interval``, observe how late the wake-up came (s)."""
    loop = asyncio.get_running_loop()
    while True:
        asked = loop.time()
        await asyncio.sleep(interval)
        observe(max(0.0, loop.time() - asked - interval))
