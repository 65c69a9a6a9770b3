"""A delivery worker on real SQLite and PostgreSQL: it stops when told, even when a commit
wakes it at the same moment."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from router.outbox.delivery import Backoff, Worker
from router.outbox.store import OutboxStore
from router.store.repository import Store
from router.store.schema import SubscriptionRow


class Kept:
    """A sink that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    async def deliver(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    async def aclose(self) -> None:
        pass


async def test_a_worker_woken_as_it_is_stopped_stops(store: Store) -> None:
    outbox = OutboxStore(store)
    await outbox.put({"id": "crm", "url": "https://crm.example/hooks", "created_at": time.time()})
    row = await outbox.subscription("crm")
    assert isinstance(row, SubscriptionRow)
    worker = Worker(outbox, row, Kept(), Backoff())
    worker.wake.set()
    worker.start()
    while worker.wake.is_set():  # it reads the outbox, finds nothing, then waits to be woken
        await asyncio.sleep(0)
    worker.wake.set()  # a commit wakes it, and in the same turn of the loop the router stops
    # a bound for the failure only: with asyncio.wait_for (Python 3.11) the cancel was lost
    # with the wake's result, the worker went on polling and stop() never returned
    async with asyncio.timeout(30):
        await worker.stop()
