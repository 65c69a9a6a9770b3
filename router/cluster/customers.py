"""Customer changes across nodes: a merge, unmerge or erasure made on one node reaches
every node's caches (router/customer_changes.py) through one Redis stream, and an erasure
takes the customer's contacts out of the agents' desktop streams.

The stream carries only opaque ids (customers, contacts), never personal data. Each node
reads it from the moment it starts (a cache built later asks the database anyway).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from router.cluster.keys import Keys
from router.customer_changes import CustomerChange, about_contact

log = logging.getLogger("centralino.cluster.customers")
CHANGES_MAXLEN = 10_000
Apply = Callable[[CustomerChange], Awaitable[None]]


class CustomerFeed:
    def __init__(self, redis: Redis, keys: Keys, node: str) -> None:
        self.redis = redis
        self.keys = keys
        self.node = node

    async def publish(self, change: CustomerChange) -> None:
        fields = {"change": json.dumps(change.as_dict()), "node": self.node}
        await self.redis.xadd(
            self.keys.customer_changes,
            fields,  # type: ignore[arg-type]
            maxlen=CHANGES_MAXLEN,
            approximate=True,
        )

    async def run(self, apply: Apply) -> None:
        """Apply every change published from now on, in order, until cancelled."""
        last = "$"
        while True:
            try:
                answer: Any = await self.redis.xread(
                    {self.keys.customer_changes: last}, block=1000, count=100
                )
            except RedisError as exc:
                log.warning("cannot read customer changes: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for _key, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    try:
                        change = CustomerChange.from_dict(json.loads(fields[b"change"]))
                    except (KeyError, ValueError) as exc:
                        log.error("unreadable customer change %s: %s", last, exc)
                        continue
                    await apply(change)

    async def scrub_desks(self, agent_ids: Iterable[str], contact_ids: Iterable[str]) -> int:
        """Delete the agents' desktop events about these contacts; how many went. A
        desktop resuming across a deleted event gets a fresh snapshot, or skips it."""
        contacts = set(contact_ids)
        removed = 0
        for agent_id in agent_ids:
            key = self.keys.desk(agent_id)
            entries: Any = await self.redis.xrange(key)
            doomed = [
                entry_id
                for entry_id, fields in entries
                if about_contact(json.loads(fields[b"m"])) in contacts
            ]
            if doomed:
                removed += int(await self.redis.xdel(key, *doomed))
        return removed
