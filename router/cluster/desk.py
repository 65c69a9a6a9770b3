"""Agents' desktop streams in Redis: the active router writes, the node holding the
agent's websocket reads.

Each agent has one stream whose entry ids are ``0-<seq>``: the seq a desktop acknowledges
and resumes from is the entry id itself, so a desktop that reconnects to *any* node, or
stays connected across a router failover, continues exactly where it was. The router is
the only writer; it numbers events synchronously (so a login's snapshot and its seq meet
exactly) and writes them in order through a fenced script. A second stream per agent
carries session control: a newer login tells older sessions, on any node, to close.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from router.cluster.keys import Keys
from router.cluster.lease import Fenced, FencedXadd, Lease, is_fenced

log = logging.getLogger("centralino.desk")
CONTROL_MAXLEN = 50


def seq_of(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[1])


async def desk_generation(redis: Redis, keys: Keys) -> str:
    """Names this Redis' set of agent streams; it changes only if Redis lost its data, and
    then desktops get a fresh snapshot instead of a replay that no longer exists."""
    await redis.set(keys.desk_generation, secrets.token_hex(6), nx=True)
    value = await redis.get(keys.desk_generation)
    return value.decode() if isinstance(value, bytes) else str(value)


Durable = Callable[[int], Awaitable[object]]


class DeskWriter:
    """Router side: agents' events, written in order, only while this router's lease holds,
    and only once the decisions behind them are in the database (``durable``): a desktop
    never sees an offer or an assignment that a successor router would not know about."""

    def __init__(
        self, redis: Redis, keys: Keys, lease: Lease, maxlen: int, durable: Durable
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.lease = lease
        self.maxlen = maxlen
        self.durable = durable
        self._xadd = FencedXadd(redis, keys, lease)
        self._queue: deque[tuple[str, int, str, int]] = deque()
        self._wake = asyncio.Event()
        self._progress = asyncio.Condition()
        self.written: dict[str, int] = {}  # agent -> last seq in Redis
        self.fenced = False

    async def last_seqs(self, agent_ids: list[str]) -> dict[str, int]:
        """Where each agent's stream stands (0 if it has none)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for agent_id in agent_ids:
                pipe.xrevrange(self.keys.desk(agent_id), count=1)
            answers = await pipe.execute()
        seqs = {
            agent_id: seq_of(found[0][0]) if found else 0
            for agent_id, found in zip(agent_ids, answers, strict=True)
        }
        for agent_id, seq in seqs.items():
            self.written[agent_id] = max(seq, self.written.get(agent_id, 0))
        return seqs

    def enqueue(self, agent_id: str, seq: int, message: dict[str, Any], mark: int) -> None:
        """``mark``: the recorder's mark of the decision behind this event."""
        self._queue.append((agent_id, seq, json.dumps(message), mark))
        self._wake.set()

    async def reached(self, agent_id: str, seq: int) -> None:
        """Wait until the agent's events up to ``seq`` are in Redis (or were given up)."""
        async with self._progress:
            await self._progress.wait_for(
                lambda: self.fenced or self.written.get(agent_id, 0) >= seq
            )

    async def control(self, agent_id: str, session: str) -> str:
        """Announce the agent's current session; returns the entry id to read after."""
        return await self._xadd(
            self.keys.desk_control(agent_id), "*", CONTROL_MAXLEN, {"session": session}
        )

    async def run(self) -> None:
        while not self.fenced:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(200, len(self._queue)))]
                await self.durable(max(mark for *_rest, mark in batch))
                try:
                    await self._write(batch)
                except Fenced:
                    self.fenced = True
                    log.warning("lease lost: %d desktop events not written", len(batch))
                    self._queue.clear()
                async with self._progress:
                    for agent_id, seq, _message, _mark in batch:
                        self.written[agent_id] = max(seq, self.written.get(agent_id, 0))
                    self._progress.notify_all()

    async def _write(self, batch: list[tuple[str, int, str, int]]) -> None:
        for attempt in range(3):
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for agent_id, seq, message, _mark in batch:
                        await self._xadd.queue(
                            pipe, self.keys.desk(agent_id), f"0-{seq}", self.maxlen, {"m": message}
                        )
                    results = await pipe.execute(raise_on_error=False)
                for result in results:
                    if isinstance(result, RedisError):
                        if is_fenced(result):
                            raise Fenced("lease lost")
                        log.error("desktop event not written: %s", result)
                return
            except Fenced:
                raise
            except RedisError as exc:
                log.warning("writing desktop events failed (%s), attempt %d", exc, attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
        log.error("dropped %d desktop events after retries", len(batch))


@dataclass
class DeskRead:
    events: list[dict[str, Any]]
    sessions: list[str]  # newer sessions announced on the control stream
    control_after: str


class DeskReader:
    """Node side: the events of one agent, from a seq on, and the session announcements."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def since(
        self, agent_id: str, after_seq: int, upto_seq: int
    ) -> list[dict[str, Any]] | None:
        """Events (after_seq, upto_seq]; None if the stream no longer reaches back there."""
        if after_seq > upto_seq:
            return None
        if after_seq == upto_seq:
            return []
        entries: Any = await self.redis.xrange(
            self.keys.desk(agent_id), min=f"0-{after_seq + 1}", max=f"0-{upto_seq}"
        )
        if not entries or seq_of(entries[0][0]) != after_seq + 1:
            return None  # trimmed away: the desktop needs the snapshot
        if seq_of(entries[-1][0]) != upto_seq:
            return None  # some were never written (a router lost its lease meanwhile)
        return [json.loads(fields[b"m"]) for _entry, fields in entries]

    async def wait(
        self, agent_id: str, after_seq: int, control_after: str, block_ms: int
    ) -> DeskRead:
        answer: Any = await self.redis.xread(
            {
                self.keys.desk(agent_id): f"0-{after_seq}",
                self.keys.desk_control(agent_id): control_after,
            },
            block=block_ms,
            count=200,
        )
        events: list[dict[str, Any]] = []
        sessions: list[str] = []
        for key, entries in answer or []:
            name = key.decode() if isinstance(key, bytes) else key
            for entry_id, fields in entries:
                if name == self.keys.desk(agent_id):
                    events.append(json.loads(fields[b"m"]))
                else:
                    sessions.append(fields[b"session"].decode())
                    control_after = entry_id.decode()
        return DeskRead(events, sessions, control_after)
