"""The router lease and its fencing token, against a real Redis and a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from router.cluster.desk import DeskReader, DeskWriter
from router.cluster.keys import Keys
from router.cluster.lease import Fenced, RouterLease
from router.store.changes import ContactUpdate
from router.store.errors import FencedOut
from router.store.repository import Store
from tests.databases import database
from tests.redis_server import RedisServer


async def no_wait(_mark: int) -> None:
    return None


async def test_one_holder_at_a_time_and_each_lease_a_higher_epoch(
    redis_server: RedisServer,
) -> None:
    redis = Redis.from_url(redis_server.url)
    keys = Keys("t")
    first = RouterLease(redis, keys, "node-a", ttl=0.3)
    second = RouterLease(redis, keys, "node-b", ttl=0.3)
    lease_a = await first.try_acquire()
    assert lease_a is not None
    assert await second.try_acquire() is None  # held
    assert await first.renew(lease_a)
    await asyncio.sleep(0.5)  # node-a stops renewing: the lease lapses
    lease_b = await second.try_acquire()
    assert lease_b is not None and lease_b.epoch == lease_a.epoch + 1
    assert not await first.renew(lease_a)  # node-a learns it lost the lease
    await first.release(lease_a)  # and cannot release someone else's
    assert await second.holder() == lease_b.value
    await second.release(lease_b)
    assert await second.holder() is None
    await redis.aclose()


async def test_a_fenced_router_cannot_write_desktop_events(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    keys = Keys("t")
    leases = RouterLease(redis, keys, "node-a", ttl=5)
    old = await leases.try_acquire()
    assert old is not None
    writer = DeskWriter(redis, keys, old, 100, no_wait)
    task = asyncio.create_task(writer.run())
    writer.enqueue("eva", 1, {"type": "presence", "seq": 1}, 0)
    await writer.reached("eva", 1)
    await redis.delete(keys.lease)  # the lease lapsed ...
    new = await RouterLease(redis, keys, "node-b", ttl=5).try_acquire()  # ... and was taken
    assert new is not None
    writer.enqueue("eva", 2, {"type": "presence", "seq": 2}, 0)
    await writer.reached("eva", 2)
    assert writer.fenced
    reader = DeskReader(redis, keys)
    assert await reader.since("eva", 0, 1) == [{"type": "presence", "seq": 1}]
    assert await reader.since("eva", 0, 2) is None  # event 2 was never written
    with pytest.raises(Fenced):
        await writer.control("eva", "session-x")
    await asyncio.wait_for(task, 1)
    await redis.aclose()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_database_fence_refuses_an_older_epoch(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as url:
        await fence_refuses_older_epoch(url)


async def fence_refuses_older_epoch(url: str) -> None:
    old, new = await Store.open(url), await Store.open(url)
    await old.claim_fence("default", 1)
    await old.apply([ContactUpdate("nobody", {"state": "queued"})])  # allowed while current
    await new.claim_fence("default", 2)
    with pytest.raises(FencedOut):
        await old.apply([ContactUpdate("nobody", {"state": "queued"})])
    with pytest.raises(FencedOut):
        await old.claim_fence("default", 1)  # and cannot take the fence back
    await new.apply([ContactUpdate("nobody", {"state": "queued"})])
    await old.close()
    await new.close()
