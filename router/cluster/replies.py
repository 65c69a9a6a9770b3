"""The active router's replies to commands, gathered: one fenced script call for the
replies ready together.

Each applied command ends with its reply pushed to the caller's list and its entry
acknowledged, in one script that first checks the router still holds the lease
(``FENCED_REPLIES_ACK``). A script call a command cost the router a round trip to Redis
and redis-py's work around it for every command, where at intake from other nodes contacts
arrive dozens at a time (with the calls gathered the router's CPU a contact another node
took in was 0.42-0.43 ms against 0.46-0.47 ms, bench/node_intake.py). Here a reply waits
only while a call is in flight: the replies finished meanwhile go together in the next, up
to ``MOST`` a call; alone, a reply goes at once. Each waiter learns its own outcome: done,
or the call's error (``FENCED`` for all of them if the lease was lost: none of them was
acknowledged).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from router.cluster.keys import COMMAND_GROUP, Keys
from router.cluster.lease import FENCED_REPLIES_ACK, Lease

REPLY_TTL = 60  # seconds a reply waits for a node that may have given up
MOST = 100  # replies a script call takes


@dataclass(slots=True)
class _Reply:
    entry_id: str
    reply_to: str
    reply: str  # "" when nobody waits for it
    done: asyncio.Future[None]


class Replies:
    def __init__(self, redis: Redis, keys: Keys, lease: Lease) -> None:
        self.keys = keys
        self.lease = lease
        self._script: Any = redis.register_script(FENCED_REPLIES_ACK)
        self._waiting: list[_Reply] = []
        self._sender: asyncio.Task[None] | None = None
        self._closed = False
        self.calls = 0  # script calls made (for tests and benches)

    async def send(self, entry_id: str, reply_to: str, reply: str) -> None:
        """Push ``reply`` to ``reply_to``'s list (unless ``reply_to`` is empty) and
        acknowledge the entry; raises the script call's RedisError (FENCED: lease lost)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Reply(entry_id, reply_to, reply if reply_to else "", done))
        if self._sender is None:
            self._start_sender()
        await done

    def _start_sender(self) -> None:
        self._sender = asyncio.create_task(self._send_waiting(), name="centralino-replies")

    async def aclose(self) -> None:
        """Stop sending (the router stops): the replies still waiting are cancelled."""
        self._closed = True
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        for waiting in self._waiting:
            waiting.done.cancel()
        self._waiting.clear()

    async def _send_waiting(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:MOST]
                del self._waiting[:MOST]
                try:
                    await self._call(batch)
                except Exception as exc:  # each waiter raises it (FENCED, a lost connection)
                    for waiting in batch:
                        if not waiting.done.done():
                            waiting.done.set_exception(exc)
                else:
                    for waiting in batch:
                        if not waiting.done.done():
                            waiting.done.set_result(None)
                finally:
                    for waiting in batch:  # cancelled while sending: its waiters with it
                        waiting.done.cancel()
        finally:
            self._sender = None
            if self._waiting and not self._closed:  # stopped by a cancel not from aclose
                self._start_sender()

    async def _call(self, batch: list[_Reply]) -> None:
        self.calls += 1
        keys = [self.keys.lease, self.keys.commands]
        args: list[Any] = [self.lease.value, COMMAND_GROUP, REPLY_TTL]
        for waiting in batch:
            keys.append(self.keys.reply(waiting.reply_to or "none"))
            args += [waiting.entry_id, waiting.reply]
        await self._script(keys=keys, args=args)
