"""The command stream against a real Redis: acknowledged only after being applied, applied
again by the next router when the first one died, stale clicks skipped, fenced writes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from router.cluster.commands import CommandClient, CommandServer, RouterUnavailable
from router.cluster.keys import COMMAND_GROUP, Keys
from router.cluster.lease import Fenced, RouterLease
from tests.redis_server import RedisServer

KEYS = Keys("cmd")


async def pending(redis: Redis) -> int:
    summary: Any = await redis.xpending(KEYS.commands, COMMAND_GROUP)
    return int(summary["pending"])


async def test_a_command_left_by_a_dead_router_is_applied_by_the_next(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    client = CommandClient(redis, KEYS, timeout=10)
    first_lease = await RouterLease(redis, KEYS, "a", ttl=0.3).try_acquire()
    assert first_lease is not None
    stuck = asyncio.Event()

    async def dies_midway(op: str, args: dict[str, Any]) -> dict[str, Any]:
        stuck.set()
        await asyncio.sleep(3600)  # the process is killed while applying
        return {}

    first = asyncio.create_task(CommandServer(redis, KEYS, first_lease, dies_midway).run())
    call = asyncio.create_task(client.call("add", {"n": 41}))
    await asyncio.wait_for(stuck.wait(), 5)
    first.cancel()  # kill -9: no reply, no acknowledgement
    await asyncio.gather(first, return_exceptions=True)
    assert await pending(redis) == 1
    await asyncio.sleep(0.4)  # its lease lapses
    second_lease = await RouterLease(redis, KEYS, "b", ttl=5).try_acquire()
    assert second_lease is not None
    applied: list[dict[str, Any]] = []

    async def adds(op: str, args: dict[str, Any]) -> dict[str, Any]:
        applied.append(args)
        return {"result": args["n"] + 1}

    second = asyncio.create_task(CommandServer(redis, KEYS, second_lease, adds).run())
    assert await asyncio.wait_for(call, 5) == {"result": 42}  # the caller still waited
    assert applied == [{"n": 41, "_replayed": True}]  # marked: the handler checks the record
    assert await pending(redis) == 0  # acknowledged once applied
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    await redis.aclose()


async def test_stale_clicks_are_skipped_and_failures_answered_once(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    client = CommandClient(redis, KEYS, timeout=0.3)
    with pytest.raises(RouterUnavailable):  # nobody is routing yet
        await client.call("accept", {"offer": "o1"}, expires_in=0.1)
    lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
    assert lease is not None
    seen: list[str] = []

    async def handler(op: str, args: dict[str, Any]) -> dict[str, Any]:
        seen.append(op)
        if op == "boom":
            raise RuntimeError("bug")
        return {"ok": True}

    server = asyncio.create_task(CommandServer(redis, KEYS, lease, handler).run())
    client.timeout = 5
    assert await client.call("boom", {}) == {
        "error": {"code": "internal", "message": "boom failed"}
    }
    assert await client.call("ping", {}) == {"ok": True}
    assert seen == ["boom", "ping"]  # the expired accept never ran; boom ran once
    assert await pending(redis) == 0
    server.cancel()
    await asyncio.gather(server, return_exceptions=True)
    await redis.aclose()


async def test_a_router_that_lost_its_lease_cannot_answer(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
    assert lease is not None
    await redis.delete(KEYS.lease)
    assert await RouterLease(redis, KEYS, "b", ttl=5).try_acquire() is not None

    async def handler(op: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True}

    server = asyncio.create_task(CommandServer(redis, KEYS, lease, handler).run())
    client = CommandClient(redis, KEYS, timeout=0.5)
    with pytest.raises(RouterUnavailable):
        await client.call("ping", {})
    with pytest.raises(Fenced):
        await asyncio.wait_for(server, 5)
    assert await pending(redis) == 1  # left for the router that holds the lease
    await redis.aclose()


async def test_replies_finished_together_go_in_one_call_each_to_its_caller(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
    assert lease is not None
    release = asyncio.Event()

    async def adds(op: str, args: dict[str, Any]) -> dict[str, Any]:
        await release.wait()  # every command applied, then all finish in the same turn
        return {"result": args["n"] + 1}

    server = CommandServer(redis, KEYS, lease, adds)
    serving = asyncio.create_task(server.run())
    client = CommandClient(redis, KEYS, timeout=10)
    calls = [asyncio.create_task(client.call("add", {"n": n})) for n in range(50)]

    async def all_read() -> None:
        while await pending(redis) < 50:  # read by the router, not yet answered
            await asyncio.sleep(0.01)

    await asyncio.wait_for(all_read(), 10)
    release.set()
    assert await asyncio.gather(*calls) == [{"result": n + 1} for n in range(50)]
    assert await pending(redis) == 0  # every one acknowledged
    assert server.applied == 50
    assert server.replies.calls < 50  # gathered: fewer script calls than replies
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    await redis.aclose()


async def test_a_command_fenced_while_applied_is_not_answered_and_left_pending(
    redis_server: RedisServer,
) -> None:
    """A handler that finds the lease lost (Fenced) gives no reply: the router stops and
    the command waits in the stream for the router that holds the lease."""
    redis = Redis.from_url(redis_server.url)
    lease = await RouterLease(redis, KEYS, "a", ttl=5).try_acquire()
    assert lease is not None

    async def handler(op: str, args: dict[str, Any]) -> dict[str, Any]:
        raise Fenced("lease lost while applying")

    server = asyncio.create_task(CommandServer(redis, KEYS, lease, handler).run())
    client = CommandClient(redis, KEYS, timeout=0.5)
    with pytest.raises(RouterUnavailable):  # no reply
        await client.call("accept", {"offer": "o1"})
    with pytest.raises(Fenced):
        await asyncio.wait_for(server, 5)
    assert await pending(redis) == 1
    await redis.aclose()


async def test_a_new_router_has_read_every_command_left_in_the_stream_before_it_is_caught_up(
    redis_server: RedisServer,
) -> None:
    """More than a page of commands no router read: every one started before the new
    router says it caught up, when its own node's commands may go first."""
    keys = Keys("caught-up")  # a stream of its own: no other test's entries
    redis = Redis.from_url(redis_server.url)
    for n in range(250):
        await redis.xadd(keys.commands, {"op": "add", "args": f'{{"n": {n}}}', "reply": "r"})
    lease = await RouterLease(redis, keys, "a", ttl=30).try_acquire()
    assert lease is not None
    release = asyncio.Event()

    async def waits(op: str, args: dict[str, Any]) -> dict[str, Any]:
        await release.wait()
        return {"ok": True}

    server = CommandServer(redis, keys, lease, waits, concurrency=300)
    started_when_caught_up: list[int] = []

    class Noted(asyncio.Event):
        def set(self) -> None:
            started_when_caught_up.append(server.started)
            super().set()

    server.caught_up = Noted()
    serving = asyncio.create_task(server.run())
    try:
        await asyncio.wait_for(server.caught_up.wait(), 30)
        assert started_when_caught_up == [250]
    finally:
        release.set()
        serving.cancel()  # in a blocked read, whose cancel redis-py may swallow: it stops
        await asyncio.wait_for(asyncio.gather(serving, return_exceptions=True), 30)
        await redis.aclose()
