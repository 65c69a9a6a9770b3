"""Returning customers' history reads, gathered: one read in flight, the asks that came
meanwhile in the next.

Every returning customer's plan reads their history before its offer and its 202
(router/intake.py). One read a plan was two statements a plan: at max intake on
PostgreSQL with 30% of the customers returning, 0.2 ms of the router's CPU a returning
contact went to the two sends alone, and reads side by side took more connections than
the pool keeps, opening and closing the rest. Here the asks of a turn of the event loop,
and those that come while a read is in flight, go to the store as one read
(Store.customer_histories: two statements for any number of customers), as the journal
gathers writes. One ask alone is read at once (in the next turn of the loop): nothing
waits for company. With one read in flight, a read that waits (for a connection of the
pool, for a slow database) makes every returning customer's plan wait; reads of their
own waited for the same pool and the same database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from router.store.errors import StoreError
from router.store.histories import CustomerHistory, HistoryAsk

MOST_ASKS = 64
"""The most asks one read takes."""

ReadHistories = Callable[[Sequence[HistoryAsk]], Awaitable[list[CustomerHistory]]]
Waiting = list[tuple[HistoryAsk, "asyncio.Future[CustomerHistory]"]]


class HistoryReads:
    """Gathers history reads: ``read`` answers as a read of its own would, or raises
    StoreError (the read's own error its cause)."""

    def __init__(self, read: ReadHistories, most: int = MOST_ASKS) -> None:
        self._read = read
        self._most = most
        self._waiting: Waiting = []
        self._reader: asyncio.Task[None] | None = None

    async def read(self, ask: HistoryAsk) -> CustomerHistory:
        future: asyncio.Future[CustomerHistory] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_all(), name="centralino-history")
        return await future

    async def _read_all(self) -> None:
        """Read what waits, a batch at a time, until nothing does."""
        try:
            while self._waiting:
                batch = [
                    (ask, future)
                    for ask, future in self._waiting[: self._most]
                    if not future.done()  # its asker gave up
                ]
                del self._waiting[: self._most]
                if batch:
                    await self._answer(batch)
        finally:
            self._reader = None
            for _ask, future in self._waiting:  # the reader was cancelled (shutdown)
                future.cancel()
            self._waiting.clear()

    async def _answer(self, batch: Waiting) -> None:
        try:
            try:
                histories = await self._read([ask for ask, _future in batch])
                answers = list(zip(batch, histories, strict=True))
            except Exception as exc:
                for _ask, future in batch:
                    if not future.done():  # each asker an error of its own to raise
                        error = StoreError(
                            str(exc)
                            if isinstance(exc, StoreError)
                            else f"could not read a customer's history: {type(exc).__name__}"
                        )
                        error.__cause__ = exc
                        future.set_exception(error)
                return
            for (_ask, future), history in answers:
                if not future.done():
                    future.set_result(history)
        finally:
            for _ask, future in batch:  # cancelled while reading: its askers with it
                future.cancel()
