"""Customer changes on a real Redis: every reader hears them, and an erasure's clean-up
removes the erased contacts' desktop events, their chat streams and the command stream's
applied entries, leaving pending and unread commands alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from redis.asyncio import Redis

from router.cluster.customers import CustomerFeed
from router.cluster.keys import COMMAND_CONSUMER, COMMAND_GROUP, Keys
from router.customer_changes import ERASED, UNMERGED, CustomerChange
from tests.redis_server import RedisServer, xread_calls

KEYS = Keys("feed")


async def test_every_node_hears_a_change(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    heard: dict[str, list[CustomerChange]] = {"a": [], "b": []}
    tasks = []
    for node in heard:

        async def apply(change: CustomerChange, node: str = node) -> None:
            heard[node].append(change)

        # from the stream's start: no window in which a reader not yet reading misses one
        tasks.append(asyncio.create_task(CustomerFeed(redis, KEYS, node).run(apply, "0-0")))
    try:
        change = CustomerChange(ERASED, ("c1", "c2"), ("k1",), ("chat-1",))
        await CustomerFeed(redis, KEYS, "a").publish(change)
        await CustomerFeed(redis, KEYS, "b").publish(CustomerChange(UNMERGED, ("c3", "c4")))
        deadline = asyncio.get_running_loop().time() + 60
        while asyncio.get_running_loop().time() < deadline:
            if all(len(changes) == 2 for changes in heard.values()):
                break
            await asyncio.sleep(0.05)
        assert heard["a"] == heard["b"] == [change, CustomerChange(UNMERGED, ("c3", "c4"))]
    finally:
        for task in tasks:
            task.cancel()
        # a read blocked in Redis may not notice the cancellation (seen under load):
        # dropping the connections ends it, so the teardown cannot hang
        _done, pending = await asyncio.wait(tasks, timeout=5)
        if pending:
            await redis.connection_pool.disconnect()
            await asyncio.wait(pending, timeout=30)
        await redis.aclose()


async def test_a_reader_from_now_on_misses_nothing_published_between_its_reads(
    redis_server: RedisServer,
) -> None:
    # Reading after "$" again and again skipped what came between two reads (a router
    # takeover, on a busy machine). Reads that do not wait are all gaps: each read after
    # "$" finds nothing.
    redis = Redis.from_url(redis_server.url)
    publisher = CustomerFeed(redis, KEYS, "a")
    await publisher.publish(CustomerChange(UNMERGED, ("before", "start")))
    heard: list[CustomerChange] = []

    async def apply(change: CustomerChange) -> None:
        heard.append(change)

    reader = asyncio.create_task(CustomerFeed(redis, KEYS, "b").run(apply, block_ms=None))
    try:
        while await xread_calls(redis) < 2:  # it is reading
            await asyncio.sleep(0.01)
        published = [CustomerChange(UNMERGED, (f"c{n}", "x")) for n in range(200)]
        for change in published:
            await publisher.publish(change)
            await asyncio.sleep(0.002)
        deadline = asyncio.get_running_loop().time() + 60
        while len(heard) < len(published) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert heard == published  # all of them, and nothing from before it started
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await redis.aclose()


async def test_an_erasure_cleans_this_domains_streams(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    feed = CustomerFeed(redis, KEYS, "a")
    try:
        desk = KEYS.desk("giulia")
        events = [
            {"type": "offer", "contact": {"contact_id": "gone", "text": "IBAN"}},
            {"type": "offer", "contact": {"contact_id": "kept", "text": "hello"}},
            {"type": "message", "contact_id": "gone", "text": "IBAN again"},
            {"type": "presence", "presence": "away"},
        ]
        for seq, event in enumerate(events, 1):
            await redis.xadd(desk, {"m": json.dumps(event)}, id=f"0-{seq}")
        assert await feed.scrub_desks(["giulia", "marco"], ["gone"]) == 2
        left: Any = await redis.xrange(desk)
        assert [entry_id for entry_id, _ in left] == [b"0-2", b"0-4"]

        await redis.xadd(KEYS.chat("chat-1"), {"m": "{}"})
        assert await feed.forget_chats(["chat-1", "never-was"]) == 1
        assert not await redis.exists(KEYS.chat("chat-1"))

        commands = KEYS.commands
        ids = [await redis.xadd(commands, {"op": "http", "args": str(n)}) for n in range(3)]
        await redis.xgroup_create(commands, COMMAND_GROUP, id="0")
        await redis.xreadgroup(COMMAND_GROUP, COMMAND_CONSUMER, {commands: ">"})
        await redis.xack(commands, COMMAND_GROUP, ids[0], ids[1])
        assert await feed.trim_commands() == 2  # applied; the third is still pending
        await redis.xack(commands, COMMAND_GROUP, ids[2])
        unread = await redis.xadd(commands, {"op": "http", "args": "3"})
        assert await feed.trim_commands() == 1
        remaining: Any = await redis.xrange(commands)
        assert [entry_id for entry_id, _ in remaining] == [unread]  # not yet read: kept
    finally:
        await redis.aclose()
