"""Customer changes across nodes: a merge, unmerge or erasure made on one node reaches
every node's caches (router/customer_changes.py) through one Redis stream. An erasure also
takes the customer's data out of this domain's Redis streams: the agents' desktop events
about their contacts, their web chats' streams, and the acknowledged entries of the
command stream (forwarded requests, bodies included; only pending ones are still needed).

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

from router.cluster.commands import cancelling
from router.cluster.keys import COMMAND_GROUP, Keys
from router.cluster.tail import tail_id
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

    async def run(
        self, apply: Apply, after: str | None = None, block_ms: int | None = 1000
    ) -> None:
        """Apply every change published after the entry ``after`` (default: from now on),
        in order, until cancelled. A read waits ``block_ms`` for news (None: not at all)."""
        last = after
        while True:
            if cancelling():  # redis-py may swallow a cancel in a read and return nothing
                raise asyncio.CancelledError
            try:
                if last is None:  # not "$": see router/cluster/tail.py
                    last = await tail_id(self.redis, self.keys.customer_changes)
                answer: Any = await self.redis.xread(
                    {self.keys.customer_changes: last}, block=block_ms, count=100
                )
            except RedisError as exc:
                if cancelling():  # a cancel redis-py turned into a connection error: stop
                    raise asyncio.CancelledError from exc
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

    async def forget_chats(self, sessions: Iterable[str]) -> int:
        """Delete these web chats' streams; how many existed."""
        keys = [self.keys.chat(session) for session in sessions]
        return int(await self.redis.delete(*keys)) if keys else 0

    async def trim_commands(self) -> int:
        """Drop the command stream's entries that were applied and acknowledged (older than
        the oldest pending one, or than anything not yet delivered); how many went."""
        stream = self.keys.commands
        if not await self.redis.exists(stream):
            return 0
        groups: Any = await self.redis.xinfo_groups(stream)
        group = next((g for g in groups if _text(g["name"]) == COMMAND_GROUP), None)
        if group is None:
            return 0  # no router ever read it: every entry is still to be applied
        summary: Any = await self.redis.xpending(stream, COMMAND_GROUP)
        if summary["pending"]:
            keep_from = _text(summary["min"])
        else:
            ms, _, seq = _text(group["last-delivered-id"]).partition("-")
            keep_from = f"{ms}-{int(seq or 0) + 1}"
        return int(await self.redis.xtrim(stream, minid=keep_from, approximate=False))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
