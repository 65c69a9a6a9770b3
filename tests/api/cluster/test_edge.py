"""A node's edge on a real Redis: it hears of every router takeover, however busy it is
between its reads (api/cluster/edge.py, router/cluster/tail.py)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from api.cluster.edge import Edge
from router.cluster.keys import Keys
from tests.redis_server import RedisServer, xread_calls

KEYS = Keys("edge")


async def test_the_edge_hears_every_takeover_even_between_its_reads(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    await redis.xadd(KEYS.takeovers, {"epoch": 7, "node": "old"})  # before: not news
    edge = Edge(redis, KEYS, timeout=5)
    # Reading after "$" again and again, an edge missed a takeover made between two of
    # its reads, and its desktops were never logged in to the new router. Reads that do
    # not wait are all gaps: each read after "$" finds nothing.
    watch = asyncio.create_task(edge.watch_takeovers(block_ms=None))
    try:
        while await xread_calls(redis) < 2:  # it is reading
            await asyncio.sleep(0.01)
        for epoch in range(1, 301):
            await redis.xadd(KEYS.takeovers, {"epoch": epoch, "node": f"n{epoch}"})
            deadline = asyncio.get_running_loop().time() + 30
            while edge.epoch < epoch:
                assert asyncio.get_running_loop().time() < deadline, f"epoch {epoch} missed"
                await asyncio.sleep(0.001)
            assert edge.epoch == epoch
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        await redis.aclose()
