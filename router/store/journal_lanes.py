"""The journal's queues (router/store/journal.py): units of work, and the lanes that commit
them a batch at a time, in the order they were submitted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")
Work = Callable[[Connection], T]


LINGER = 0.005  # s a batch of decisions waits for more (router/store/journal.py)


def default_linger(dialect: str) -> float:
    """The linger a store on ``dialect`` gets unless told otherwise. On SQLite a new
    contact ends the wait (one lane), so it lingers only between contacts. On PostgreSQL
    the decisions' lane lingers whatever the intake lane does, and at half of max its
    larger batches came with a fatter tail (p99 32-76 ms in 3 of 5 runs against 22-26 ms;
    docs/hot-path-history.md, the twenty-third session): off there by default."""
    return LINGER if dialect == "sqlite" else 0.0


@dataclass(slots=True)
class Unit(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T]
    # the intake lane's count of units submitted so far, this one included if it is one
    # of them: what a batch of decisions must wait for (``Journal._after_intake``)
    intake_mark: int = 0
    submitted: float = field(default_factory=time.perf_counter)
    hurry: bool = False  # someone waits for it now: its batch does not linger


@dataclass(slots=True)
class Lane:
    """One queue of units and the task that commits them, a batch at a time."""

    name: str  # its task's
    label: str  # its commits' in /metrics: "all" (the one lane), "intake" or "decisions"
    shared: bool = False  # the intake lane (see ``Journal``)
    queue: list[Unit[Any]] = field(default_factory=list)
    submitted: int = 0  # units submitted so far
    connection: AsyncConnection | None = None  # PostgreSQL: kept between batches
    ahead: int = 0  # units at the front of the queue submitted ``ahead``
    hurried: int = 0  # units in the queue marked ``hurry``
    lingering: bool = False  # waiting for more before a batch (``linger``)
    committing: list[Unit[Any]] = field(default_factory=list)  # the batch being committed
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def take(self, size: int) -> list[Unit[Any]]:
        """The next batch: up to ``size`` units from the front of the queue."""
        batch = self.queue[:size]
        del self.queue[: len(batch)]
        self.ahead = max(0, self.ahead - len(batch))
        if self.hurried:
            self.hurried -= sum(unit.hurry for unit in batch)
        return batch

    def hurry(self, future: asyncio.Future[Any] | None = None) -> None:
        """Someone waits for what is queued now (``future``: for that unit): the batch
        that takes it does not linger. Nothing to do once that unit is committed or
        being committed."""
        if future is not None and (
            future.done() or any(unit.future is future for unit in self.committing)
        ):
            return
        if self.queue and not self.queue[-1].hurry:
            self.queue[-1].hurry = True
            self.hurried += 1
            self.wake.set()

    async def linger(self, seconds: float, max_batch: int) -> None:
        """Before a batch: wait until its first unit is ``seconds`` old, unless someone
        waits for a unit in it now, a new contact waits in it (``ahead``: SQLite's one
        lane is also intake's) or the batch is full. The journal's module says why
        (router/store/journal.py)."""
        loop = asyncio.get_running_loop()
        self.lingering = True
        try:
            while not (self.ahead or self.hurried or len(self.queue) >= max_batch):
                left = self.queue[0].submitted + seconds - time.perf_counter()
                if left <= 0:
                    return
                self.wake.clear()
                timer = loop.call_later(left, self.wake.set)
                try:
                    await self.wake.wait()
                finally:
                    timer.cancel()
        finally:
            self.lingering = False

    def waiting(self, through: int | None = None) -> list[asyncio.Future[Any]]:
        """The futures of the units not yet committed (``through``: of those submitted up
        to that count, which the lane commits first: it keeps their order)."""
        units = (*self.committing, *self.queue)
        if through is None:
            return [unit.future for unit in units]
        return [unit.future for unit in units if unit.intake_mark <= through]

    def committed(self) -> int:
        """The intake lane: how many of its units submitted so far are committed (or
        failed); it answers them in order."""
        for unit in (*self.committing, *self.queue):
            if not unit.future.done():
                return unit.intake_mark - 1
        return self.submitted
