"""The command stream: how any node hands work to the active router and gets the answer.

A node XADDs a command (an operation name, JSON arguments, a reply id) to the domain's
command stream and waits on a reply list. The active router reads the stream through a
consumer group, applies each command, then pushes the reply and acknowledges the entry in
one fenced script (with the replies finished at the same time: router/cluster/replies.py):
an entry is acknowledged only after it was applied, by the router that still holds the
lease. A router that dies leaves its unacknowledged entries pending; its
successor applies them again (every command is idempotent or harmless to repeat, e.g. a
gateway event carries its message id). A node that gets no answer in time answers 503 and
the gateway retries; the retry finds the contact the first attempt stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from router.cluster.keys import COMMAND_CONSUMER, COMMAND_GROUP, Keys
from router.cluster.lease import Fenced, Lease, is_fenced
from router.cluster.replies import Replies
from router.ids import new_id
from router.store.json_text import dumps, loads

log = logging.getLogger("centralino.commands")

Handler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
STREAM_MAXLEN = 100_000  # acknowledged entries are trimmed away beyond this
READ_PAGE = 100  # entries a read of the stream takes at most


def cancelling() -> bool:
    """Whether this task is being cancelled: redis-py may surface a cancel in the middle of
    a blocked read as a connection error, and a retry loop must not swallow it."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def handled(op: str, reply: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """A handler's ``reply`` to ``op`` as the router gives it: for a failure, a reply that
    says so (a bad command must not stop the router), but for ``Fenced`` (the router lost
    its lease under it: no reply, the command is left to the next router), raised."""
    try:
        return await reply
    except Fenced:
        raise
    except Exception:
        log.exception("command %s failed", op)
        return {"error": {"code": "internal", "message": f"{op} failed"}}


async def asked_here(reply: Awaitable[dict[str, Any] | None]) -> dict[str, Any] | None:
    """``reply`` from the router in this process (a node that routes asks it without
    Redis: api/cluster/local_commands.py, api/cluster/node_intake.py); None if a cancel
    that is not this task's own stopped it (the router's stack closing under the call):
    not done, and the router active now must be asked through the stream instead."""
    try:
        return await reply
    except asyncio.CancelledError:
        if cancelling():
            raise  # this task's own cancel
        return None


class RouterUnavailable(RuntimeError):
    """No active router answered in time (a failover is under way, or Redis is down)."""


class CommandClient:
    """The node side: send a command, wait for the active router's answer."""

    def __init__(self, redis: Redis, keys: Keys, timeout: float) -> None:
        self.redis = redis
        self.keys = keys
        self.timeout = timeout

    async def call(
        self,
        op: str,
        args: dict[str, Any],
        *,
        timeout: float | None = None,
        expires_in: float | None = None,
    ) -> dict[str, Any]:
        """Run ``op`` on the active router. ``expires_in``: the router skips the command
        if it reaches it later than that (an agent's click is stale after a failover;
        a gateway event never is)."""
        wait = self.timeout if timeout is None else timeout
        request_id = new_id()
        fields: dict[str, str] = {"op": op, "args": dumps(args), "reply": request_id}
        if expires_in is not None:
            fields["expires"] = repr(time.time() + expires_in)
        try:
            await self.redis.xadd(
                self.keys.commands,
                fields,  # type: ignore[arg-type]
                maxlen=STREAM_MAXLEN,
                approximate=True,
            )
            answer = await self.redis.blpop([self.keys.reply(request_id)], timeout=wait)
        except RedisError as exc:
            raise RouterUnavailable(f"Redis unavailable: {type(exc).__name__}") from exc
        if answer is None:
            raise RouterUnavailable(f"no active router answered within {wait:g}s")
        result: dict[str, Any] = loads(answer[1])
        return result


class CommandServer:
    """The active router's side: apply commands from the stream, reply, acknowledge."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        lease: Lease,
        handler: Handler,
        *,
        concurrency: int = 64,
        claim_idle: float = 10.0,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.lease = lease
        self.handler = handler
        self.claim_idle = claim_idle
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self.replies = Replies(redis, keys, lease)  # replies and acks, gathered
        self._fenced: Fenced | None = None
        self.started = 0  # commands started (read, or taken back, and handed to the handler)
        self.applied = 0
        # set once what the stream held before this router is started (api/cluster/backend.py)
        self.caught_up = asyncio.Event()

    async def ensure_group(self) -> None:
        try:
            # from the start of the stream: commands sent before any router ran count too
            await self.redis.xgroup_create(self.keys.commands, COMMAND_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self) -> None:
        """Serve until cancelled, or until a write shows the lease was lost (Fenced)."""
        await self.ensure_group()
        try:
            await self._read("0")  # what a previous router read but did not acknowledge
            while await self._read(">") == READ_PAGE:  # and what no router read yet
                pass  # (page by page, without waiting)
            self.caught_up.set()  # all of it started: this node's own may go first now
            last_claim = time.monotonic()
            while self._fenced is None:
                if cancelling():  # redis-py may swallow a cancel in a blocked read
                    raise asyncio.CancelledError
                if time.monotonic() - last_claim >= self.claim_idle:
                    await self._claim_stale()
                    last_claim = time.monotonic()
                await self._read(">", block_ms=500)
            raise self._fenced
        finally:
            for task in list(self._in_flight.values()):
                task.cancel()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
            await self.replies.aclose()

    async def _read(self, start: str, block_ms: int | None = None) -> int:
        """Start the entries after ``start`` (``">"``: one page of those never delivered;
        otherwise every page of this consumer's pending ones); the last page's size."""
        while True:
            answer: Any = await self.redis.xreadgroup(
                COMMAND_GROUP,
                COMMAND_CONSUMER,
                {self.keys.commands: start},
                count=READ_PAGE,
                block=block_ms,
            )
            entries = answer[0][1] if answer else []
            for entry_id, fields in entries:
                await self._start(entry_id, fields, replayed=start != ">")
            if start == ">" or not entries:
                return len(entries)
            start = entries[-1][0]  # pending entries: page on

    async def _claim_stale(self) -> None:
        """Take back entries delivered long ago and never acknowledged (a router that lost
        its lease mid-command); entries still being applied here are left alone."""
        answer: Any = await self.redis.xautoclaim(
            self.keys.commands,
            COMMAND_GROUP,
            COMMAND_CONSUMER,
            min_idle_time=int(self.claim_idle * 1000),
            count=100,
        )
        for entry_id, fields in answer[1]:
            if fields:  # None when the entry was trimmed meanwhile
                await self._start(entry_id, fields, replayed=True)

    async def _start(
        self, entry_id: bytes, fields: dict[bytes, bytes], *, replayed: bool = False
    ) -> None:
        """``replayed``: delivered before (to a router that died, or this one long ago);
        the handler sees ``_replayed`` in the arguments and checks the record first."""
        key = entry_id.decode()
        if key in self._in_flight:
            return
        await self._slots.acquire()
        task = asyncio.create_task(self._apply(key, fields, replayed))
        self._in_flight[key] = task
        self.started += 1

    async def _handle(self, op: str, fields: dict[bytes, bytes], replayed: bool) -> dict[str, Any]:
        args = loads(fields.get(b"args", b"{}"))
        if replayed:
            args["_replayed"] = True
        return await self.handler(op, args)

    async def _apply(self, entry_id: str, fields: dict[bytes, bytes], replayed: bool) -> None:
        try:
            op = fields.get(b"op", b"").decode()
            reply_to = fields.get(b"reply", b"").decode()
            expires = fields.get(b"expires")
            if expires is not None and float(expires) < time.time():
                result: dict[str, Any] = {"expired": True}
            else:
                try:
                    result = await handled(op, self._handle(op, fields, replayed))
                except Fenced as exc:
                    self._fenced = exc
                    return
            await self.replies.send(entry_id, reply_to, dumps(result))
            self.applied += 1
        except RedisError as exc:
            if is_fenced(exc):
                self._fenced = Fenced("lease lost while replying")
            else:
                log.warning("could not acknowledge command %s: %s", entry_id, exc)
        finally:
            self._in_flight.pop(entry_id, None)
            self._slots.release()
