"""The router's replies against a real Redis: the replies finished together go in one
fenced call, each to its own caller, every entry acknowledged; with the lease lost none is
pushed or acknowledged, and each waiter hears it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from router.cluster.keys import COMMAND_GROUP, Keys
from router.cluster.lease import RouterLease, is_fenced
from router.cluster.replies import MOST, Replies
from tests.redis_server import RedisServer

KEYS = Keys("replies")


async def read_commands(redis: Redis, count: int) -> list[str]:
    """``count`` entries in the command stream, read by the routers' group (pending)."""
    await redis.xgroup_create(KEYS.commands, COMMAND_GROUP, id="0", mkstream=True)
    for n in range(count):
        await redis.xadd(KEYS.commands, {"op": "ping", "n": n})
    answer: Any = await redis.xreadgroup(COMMAND_GROUP, "router", {KEYS.commands: ">"}, count=count)
    return [entry_id.decode() for entry_id, _fields in answer[0][1]]


async def pending(redis: Redis) -> int:
    summary: Any = await redis.xpending(KEYS.commands, COMMAND_GROUP)
    return int(summary["pending"])


async def test_replies_go_together_each_to_its_caller(redis_server: RedisServer) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
        assert lease is not None
        count = MOST + 20  # more than one call takes
        entries = await read_commands(redis, count)
        replies = Replies(redis, KEYS, lease)
        # every third one has nobody waiting for its reply (reply_to empty)
        await asyncio.gather(
            *(
                replies.send(entry, "" if n % 3 == 0 else f"r{n}", f'{{"n": {n}}}')
                for n, entry in enumerate(entries)
            )
        )
        assert replies.calls == 2  # the first call took MOST, the rest went in the next
        assert await pending(redis) == 0  # every entry acknowledged
        for n in range(count):
            pushed = await redis.lrange(KEYS.reply(f"r{n}"), 0, -1)
            assert pushed == ([] if n % 3 == 0 else [f'{{"n": {n}}}'.encode()])
        assert await redis.llen(KEYS.reply("none")) == 0
        assert 0 < await redis.ttl(KEYS.reply("r1")) <= 60  # a reply nobody reads expires
        await replies.aclose()


async def test_with_the_lease_lost_nothing_is_answered_or_acknowledged(
    redis_server: RedisServer,
) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
        assert lease is not None
        entries = await read_commands(redis, 3)
        await redis.delete(KEYS.lease)  # lost: another router takes it
        assert await RouterLease(redis, KEYS, "b", ttl=5).try_acquire() is not None
        replies = Replies(redis, KEYS, lease)
        outcomes = await asyncio.gather(
            *(replies.send(entry, f"r{n}", "{}") for n, entry in enumerate(entries)),
            return_exceptions=True,
        )
        for outcome in outcomes:
            assert isinstance(outcome, ResponseError) and is_fenced(outcome)
        assert await pending(redis) == 3  # left for the router that holds the lease
        for n in range(3):
            assert await redis.llen(KEYS.reply(f"r{n}")) == 0
        await replies.aclose()


async def test_closing_cancels_what_still_waits(redis_server: RedisServer) -> None:
    async with Redis.from_url(redis_server.url) as redis:
        lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
        assert lease is not None
        entries = await read_commands(redis, 2)
        replies = Replies(redis, KEYS, lease)
        sends = [asyncio.create_task(replies.send(entry, "r", "{}")) for entry in entries]
        await asyncio.sleep(0)  # both wait now; the sender has not had its first turn
        await replies.aclose()
        for send in sends:
            with pytest.raises(asyncio.CancelledError):
                await send
        assert await pending(redis) == 2
