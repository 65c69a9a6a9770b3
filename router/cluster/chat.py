"""Web-chat customers' streams in Redis: the active router writes what a customer is told
(an agent joined, the agent's messages, the end), the node holding the customer's
websocket reads it. One stream per chat session, kept a day after its last message."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from router.cluster.keys import Keys
from router.cluster.lease import Fenced, FencedXadd, Lease

log = logging.getLogger("centralino.chat")
CHAT_MAXLEN = 500
CHAT_TTL = 24 * 3600


class ChatWriter:
    """Router side: in order, and only while this router's lease holds."""

    def __init__(self, redis: Redis, keys: Keys, lease: Lease) -> None:
        self.redis = redis
        self.keys = keys
        self.lease = lease
        self._xadd = FencedXadd(redis, keys, lease)
        self._queue: deque[tuple[str, str]] = deque()
        self._wake = asyncio.Event()
        self.fenced = False

    def enqueue(self, session: str, message: dict[str, Any]) -> None:
        self._queue.append((session, json.dumps(message)))
        self._wake.set()

    async def run(self) -> None:
        while not self.fenced:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                session, message = self._queue.popleft()
                key = self.keys.chat(session)
                try:
                    await self._xadd(key, "*", CHAT_MAXLEN, {"m": message})
                    await self.redis.expire(key, CHAT_TTL)
                except Fenced:
                    self.fenced = True
                    self._queue.clear()
                    return
                except RedisError as exc:
                    log.warning("chat message not written: %s", exc)


class ChatReader:
    """Node side: what the router told this customer after ``after`` (a stream entry id)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def wait(
        self, session: str, after: str, block_ms: int
    ) -> tuple[list[dict[str, Any]], str]:
        answer: Any = await self.redis.xread(
            {self.keys.chat(session): after}, block=block_ms, count=100
        )
        messages: list[dict[str, Any]] = []
        for _key, entries in answer or []:
            for entry_id, fields in entries:
                messages.append(json.loads(fields[b"m"]))
                after = entry_id.decode()
        return messages, after
