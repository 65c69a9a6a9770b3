"""A node's edge on a real Redis: it hears of every router takeover, however busy it is
between its reads (api/cluster/edge.py, router/cluster/tail.py), and asks the router in its
own process without Redis while this node routes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from api.cluster.edge import Edge
from api.cluster.local_commands import LocalCommands
from router.cluster.commands import CommandServer, RouterUnavailable
from router.cluster.keys import Keys
from router.cluster.lease import Fenced, RouterLease
from tests.receivers import until
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


async def test_the_edge_asks_the_router_in_its_process_while_this_node_routes(
    redis_server: RedisServer,
) -> None:
    """No Redis between a node's edge and the router in its own process. A command the
    router did not finish (fenced, or its commands closed under the call) goes to the
    router active now through the stream; one it finished after it stopped routing is
    not answered (RouterUnavailable, as the stream's fenced reply would not be)."""
    redis = Redis.from_url(redis_server.url)
    lease = await RouterLease(redis, KEYS, "elsewhere", ttl=30).try_acquire()
    assert lease is not None
    elsewhere: list[str] = []

    async def other_node(op: str, args: dict[str, Any]) -> dict[str, Any]:
        elsewhere.append(op)
        return {"from": "elsewhere"}

    server = asyncio.create_task(CommandServer(redis, KEYS, lease, other_node).run())
    edge = Edge(redis, KEYS, timeout=10)
    here: list[tuple[str, dict[str, Any]]] = []
    released = asyncio.Event()
    finished: list[str] = []

    async def this_node(op: str, args: dict[str, Any]) -> dict[str, Any]:
        here.append((op, args))
        if op == "boom":
            raise RuntimeError("a bug")
        if op == "fenced":
            raise Fenced("lease lost")
        if op == "stops":
            edge.local_router = lambda: None  # it stepped down as it answered
        if op == "slow":
            await released.wait()
            finished.append(op)
        return {"from": "here", "at": datetime(2026, 12, 7, 9, 30, tzinfo=UTC)}

    local = LocalCommands(this_node)
    try:
        assert await edge.call("ping", {}) == {"from": "elsewhere"}  # not routing here
        edge.local_router = lambda: local
        # the JSON the stream would carry, both ways
        assert await edge.call("ping", {"pair": (1, 2)}) == {
            "from": "here",
            "at": "2026-12-07T09:30:00+00:00",
        }
        assert here == [("ping", {"pair": [1, 2]})]
        assert await edge.call("boom", {}) == {
            "error": {"code": "internal", "message": "boom failed"}
        }
        assert await edge.call("fenced", {}) == {"from": "elsewhere"}
        assert await edge.call("fenced", {}, expires_in=0) == {"expired": True}  # a stale click
        with pytest.raises(RouterUnavailable):
            await edge.call("stops", {})
        edge.local_router = lambda: local
        # a caller that stops waiting (its timeout, its own cancel) leaves the command running
        with pytest.raises(RouterUnavailable):
            await edge.call("slow", {}, timeout=0.05)
        cancelled = asyncio.create_task(edge.call("slow", {}))
        await until(lambda: len(here) == 7, what="the second slow command to start")
        cancelled.cancel()
        released.set()
        await until(lambda: finished == ["slow", "slow"], what="both slow commands to finish")
        # closed under the call (the router stops routing): the stream instead
        released.clear()
        closing = asyncio.create_task(edge.call("slow", {}))
        await until(lambda: len(here) == 8, what="the third slow command to start")
        await local.close()
        assert await closing == {"from": "elsewhere"}
        assert elsewhere == ["ping", "fenced", "slow"]
        assert await redis.xlen(KEYS.commands) == 3  # the stale click was not sent
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
        await redis.aclose()
