"""Reads gathered: one read in flight, the asks that came meanwhile in the next.

Many small reads side by side each cost a statement (its send, its execution, its
answer's wake-up) and a connection of the pool; under load they took more connections
than the pool keeps, opening and closing the rest. A ``GatheredReads`` sends one read at
a time (``read_all``: any number of asks, one answer each, in order). An ask made while
nothing is in flight waits one turn of the event loop for the asks made in the same turn
(on SQLite a read does not yield, so a turn is the only company it can have): alone, it
is read by its asker (no task, no future); with company, all go in one read. The asks
made while a read is in flight wait for it and go in the next, together (up to ``most``
a read). Reads of several asks are made by a task of the gatherer's own. The journal
gathers writes the same way.

Used for returning customers' history reads before their offer and their 202
(router/intake.py: at max intake on PostgreSQL with 30% of the customers returning, 0.2
ms of the router's CPU a returning contact went to the two statements' sends alone) and
for desktop tokens at login (``RouterRuntime.token_reads``: 2,000 desktops logging in at
a shift start). With one read in flight, a read that waits (for a connection of the
pool, for a slow database) makes every ask behind it wait; reads of their own waited
for the same pool and the same database.

A failed read gives each of its askers a StoreError of its own, the read's error its
cause (a driver error is not one of the store's, and one exception object raised in
several tasks gathers their tracebacks). An asker that gives up while it reads its own
ask stops that read, as it would a read of its own; the asks behind it still go in the
next. ``aclose`` stops the reader at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from router.store.errors import StoreError

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")

MOST_ASKS = 64
"""The most asks one read takes."""


class GatheredReads(Generic[Ask, Answer]):
    """``read`` answers as a read of its own would, or raises StoreError (or
    CancelledError once ``aclose`` stopped the reader)."""

    def __init__(
        self,
        read_all: Callable[[Sequence[Ask]], Awaitable[list[Answer]]],
        what: str,
        most: int = MOST_ASKS,
    ) -> None:
        self._read_all = read_all
        self._what = what  # for errors: "could not read {what}"
        self._most = most
        self._waiting: list[tuple[Ask, asyncio.Future[Answer]]] = []
        self._busy = False  # a read is in flight (its asker's or the reader's)
        self._reader: asyncio.Task[None] | None = None

    async def read(self, ask: Ask) -> Answer:
        if self._busy:
            return await self._queued(ask)
        self._busy = True
        try:
            await asyncio.sleep(0)  # the asks made in this turn of the loop come along
        except BaseException:
            self._hand_over()
            raise
        if self._waiting:  # company: this ask first, all in the reader's reads
            future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            self._waiting.insert(0, (ask, future))
            self._hand_over()
            return await future
        try:  # alone: read by its asker
            try:
                answers = await self._read_all([ask])
            except Exception as exc:
                raise self._error(exc) from exc
            if len(answers) != 1:
                raise self._error(ValueError(f"{len(answers)} answers to one ask"))
            return answers[0]
        finally:  # the asks made meanwhile go in the next read, even if this one was cancelled
            self._hand_over()

    async def _queued(self, ask: Ask) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((ask, future))
        return await future

    def _hand_over(self) -> None:
        """The asker's turn is over: what waits goes to the reader, or nothing is in flight."""
        if self._waiting:
            self._reader = asyncio.create_task(self._read_waiting(), name="centralino-reads")
            self._reader.add_done_callback(self._never_began)
        else:
            self._busy = False

    async def aclose(self) -> None:
        """Stop the reader (shutdown): the asks waiting for it are cancelled."""
        reader = self._reader
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def _never_began(self, reader: asyncio.Task[None]) -> None:
        """A reader cancelled before its first step never ran its ``finally``."""
        if self._reader is reader:
            self._stopped()

    def _stopped(self) -> None:
        self._busy = False
        self._reader = None
        for _ask, future in self._waiting:  # the reader was cancelled (shutdown)
            future.cancel()
        self._waiting.clear()

    def _error(self, cause: Exception) -> StoreError:
        error = StoreError(
            str(cause)
            if isinstance(cause, StoreError)
            else f"could not read {self._what}: {type(cause).__name__}"
        )
        error.__cause__ = cause
        return error

    async def _read_waiting(self) -> None:
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
            self._stopped()

    async def _answer(self, batch: list[tuple[Ask, asyncio.Future[Answer]]]) -> None:
        try:
            try:
                answers = await self._read_all([ask for ask, _future in batch])
                if len(answers) != len(batch):
                    raise ValueError(f"{len(answers)} answers to {len(batch)} asks")
            except Exception as exc:
                for _ask, future in batch:
                    if not future.done():  # each asker an error of its own to raise
                        future.set_exception(self._error(exc))
                return
            for (_ask, future), answer in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(answer)
        finally:
            for _ask, future in batch:  # cancelled while reading: its askers with it
                future.cancel()
