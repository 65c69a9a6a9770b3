"""The active router's commands run in its own process for its own node's edge.

On the node that routes, the edge (api/cluster/edge.py) hands its commands (forwarded
HTTP requests, desktop logins and actions, chats, the wallboard, SMTP) to the router
here instead of through the Redis command stream, and they run as the command server
runs the stream's (router/cluster/commands.py):

- as tasks of the router's, not of the caller: a desktop that disconnects, or a caller
  that stops waiting (its ``timeout``), leaves the command to finish, as one left in the
  stream finishes; the router cancels the ones still running when it stops routing;
- at most ``concurrency`` at once, the rest waiting (a bound of their own, as the command
  server has for the stream's);
- with their arguments and replies passed through JSON, as the stream passes them, so
  that neither side holds an object of the other's and both see the same types;
- a failure answered as the command server answers it (``handled``); a command that did
  not finish because the router stopped under it (its lease lost: ``Fenced``; its stack
  closing) answers None, and the caller asks the router active now through the stream.

The router publishes this only once its command server has started every command the
stream held before it (api/cluster/backend.py), so that a command of this node's does
not start before one that an earlier router never answered (they may then run side by
side, as the stream's own commands do).

What differs from the stream: a reply here is not sent by a script that checks the lease
in Redis as it sends, but given while this node still holds the lease as its keeper last
saw it (renewed every third of the lease's time; a process paused for longer than the
lease could answer once after it lapsed). What a reply says was decided is in the
database under the router's fence either way (router/store/pg_fence.py), and a command
fenced here does not stop the router at once, as the command server does for its own:
the keeper finds the lease lost at its next renewal.
"""

from __future__ import annotations

import asyncio
from typing import Any

from router.cluster.commands import Handler, asked_here, handled
from router.cluster.lease import Fenced
from router.store.json_text import dumps, loads

CONCURRENCY = 64  # as router/cluster/commands.py's CommandServer


class LocalCommands:
    def __init__(self, handler: Handler, concurrency: int = CONCURRENCY) -> None:
        self.handler = handler
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[dict[str, Any] | None]] = set()

    async def __call__(self, op: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """``op``'s reply; None if the router stopped routing before it finished (the
        module says why). The caller's own cancel leaves the command running."""
        task = asyncio.create_task(self._run(op, args), name=f"centralino-local-{op}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asked_here(asyncio.shield(task))

    async def _run(self, op: str, args: dict[str, Any]) -> dict[str, Any] | None:
        async with self._slots:
            try:
                return await handled(op, self._as_json(op, args))
            except Fenced:
                return None

    async def _as_json(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        reply = await self.handler(op, loads(dumps(args)))
        answer: dict[str, Any] = loads(dumps(reply))
        return answer

    async def close(self) -> None:
        """Cancel the commands still running (the router stops routing): their callers
        ask the stream instead."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
