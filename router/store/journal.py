"""The journal: one durable writer per process, with group commit.

Every durable write (a new contact, its customer, routing decisions, agent actions) is a
unit of work handed to ``submit``: a plain function of a SQLAlchemy ``Connection``. One
task takes everything queued so far, runs it in a single transaction and commits once,
then resolves each waiter. Durability costs one commit
per batch, not one per request, and writes never wait on each other's locks (on SQLite this
connection is the only writer of the hot path).

- Order: units are run in the order submitted (units submitted ``ahead``, new contacts,
  go before the others still queued); a batch commits whole, so a unit's waiter learns
  of its commit only when every unit before it is committed too.
- One bad unit never sinks its batch: if the batch fails, each unit runs again alone, in
  its own transaction, and only the failing one is answered with the error.
- A batch that keeps failing for a passing reason (database restarting) is retried with
  backoff before its units are tried one by one.
- Consecutive units of row changes are written together: one statement per kind of row
  for the whole run (router/store/change_batch.py), not one round trip per row.
- On SQLite a batch's statements run on the event loop with the stdlib driver, and only its
  COMMIT (the fsync) in the journal's own thread; on PostgreSQL a batch runs on the async
  driver's connection through ``run_sync``, on the event loop. Whole batches in a thread of
  their own had to win the interpreter lock back from the routing loop after every call
  into the driver: at a shift start most of a batch's time went to waiting for it. On the
  loop a batch holds it for its CPU time only (a few ms), not for the commit.
- On PostgreSQL, units submitted ``ahead`` (new contacts) have a lane of their own: their
  own batches on a second connection, beside the routing decisions' batch, so a 202 never
  waits for a batch of decisions (at a shift start one grew to 500 units and 0.4-0.8 s:
  each of its statements costs a turn of the busy loop). A batch of decisions waits,
  before it starts, for the new contacts submitted before its first unit (what it decided
  may be about them), and takes only the units whose new contacts are all committed.
  (Waiting instead for every new contact still in the intake lane held each batch of
  decisions at a shift start for 150-400 ms while the intake lane, busy all the time,
  committed contacts submitted after those decisions.) On SQLite, a single writer, both
  kinds share the one lane, ahead units first. Figures of each step, measured alternately
  with the code before it: docs/hot-path-history.md.
- On PostgreSQL each lane keeps its connection, and the intake lane sends a batch of new
  contacts without BEGIN and COMMIT (router/store/pg_connection.py). A batch of routing
  decisions keeps its transaction: sent in autocommit too (one statement, router/store/
  pg_changes.py), it made ingest-to-offer slower at half load (p50 5.5-6.4 against
  4.0-4.1 ms, the loop's lag 1.5-1.9 against 1.1 ms; docs/hot-path-history.md). While a
  router fence is claimed (several nodes) a batch that is one statement, of either lane,
  holds the fence in that statement and goes without BEGIN and COMMIT: one round trip
  instead of four (router/store/pg_fence.py).
- A batch of routing decisions and agent actions lingers (``linger``; 5 ms by default on
  SQLite, off on PostgreSQL: journal_lanes.py ``default_linger`` says why): it starts
  only once its first unit is that old, so what is decided meanwhile shares its commit.
  Under light load each decision, accept and wrap-up was a commit of its own, and a
  commit's fixed cost (the driver, the round trips, the WAL flush) is most of a small
  batch's (docs/hot-path-history.md, the twenty-third session, has the figures). The
  engine does not wait, nor does anyone who waits for a unit at once (``run``, as
  ``Store.commit`` and ``admit`` do, or ``hurry``): only what is recorded without waiting,
  and the desktops' acks that wait for it, up to ``linger`` longer. Time spent queued
  counts (a unit that waited for a busy lane does not wait again), and a new contact in
  the lane (SQLite), a full batch, ``drain`` or ``stop`` end the wait at once. The intake
  lane never lingers. With several nodes the router publishes the desktops' events only
  once their decisions are committed (router/cluster/desk.py), waiting without linger:
  there the linger saves less.
- The queue is bounded: past ``max_pending`` units ``submit`` raises ``JournalFull`` at
  once (callers answer 503 with Retry-After), never a silent delay.
"""

from __future__ import annotations

import asyncio
import logging
import time
from bisect import bisect_right
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from router.store.commit_thread import CommitThread
from router.store.journal_lanes import LINGER, Lane, Unit
from router.store.journal_lanes import T as T  # T, Work: re-exported, units are typed with them
from router.store.journal_lanes import Work as Work
from router.store.journal_runs import (
    UnitFailed,
    WritesTogether,
    finished,
    locked,
    passing,
    runs,
)
from router.store.pg_connection import (
    NeedsTransaction,
    WritesOnce,
    dropped,
    in_autocommit,
    in_transaction,
    writes_once,
)
from router.store.pg_fence import FenceCheck, hold

log = logging.getLogger("centralino.journal")


class Commit(Protocol):
    """Store.commit: run a unit of work in the journal and wait for its commit."""

    def __call__(self, work: Work[T], /) -> Awaitable[T]: ...


MAX_BATCH = 500
MAX_PENDING = 20_000
RETRY_DELAYS = (0.05, 0.5, 2.0)
LOCK_WAIT = 5.0  # s a SQLite batch waits for another connection's write lock


class JournalError(Exception):
    """A unit of work that could not be committed; the message is safe to show."""


class JournalFull(JournalError):
    """Too many writes are waiting: the caller should ask its client to retry later."""


@dataclass(slots=True)
class JournalStats:
    """Figures for /metrics: batches, units and commit time so far, and what waits now."""

    batches: int = 0
    units: int = 0
    failed_units: int = 0
    lock_waits: int = 0  # SQLite: tries put off by another connection's write lock
    commit_seconds: float = 0.0
    last_batch: int = 0
    observe: Callable[[float, int, str], None] | None = None  # (seconds, units, lane name)


class Journal:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        sync_engine: Engine | None = None,
        owns_engine: bool = False,
        convert: Callable[[Exception], Exception],
        max_batch: int = MAX_BATCH,
        max_pending: int = MAX_PENDING,
        intake_lane: bool = False,
        linger: float = LINGER,
    ) -> None:
        self._engine = engine
        self._owns_engine = owns_engine  # a writer engine of its own: disposed by ``stop``
        self._sync_engine = sync_engine  # SQLite: batches run on the loop, commits in a thread
        self._writer: Connection | None = None  # its connection, kept between batches
        self._thread = CommitThread("centralino-journal") if sync_engine is not None else None
        self._convert = convert  # driver errors -> the store's own error types
        # the router fence's (domain, epoch) once claimed (router/store/repository.py): a
        # batch that is one statement holds it in that statement, in autocommit; the others
        # hold it first in their transaction (router/store/pg_fence.py)
        self.fence: tuple[str, int] | None = None
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.linger = linger
        self._stopped = False
        self._main = Lane("centralino-journal", "decisions" if intake_lane else "all")
        # PostgreSQL: units submitted ``ahead`` (new contacts) have a lane and a connection
        # of their own, so a 202 never waits behind a batch of routing decisions
        self._intake = (
            Lane("centralino-journal-intake", "intake", shared=True) if intake_lane else None
        )
        self.stats = JournalStats()

    @property
    def pending(self) -> int:
        return len(self._main.queue) + (len(self._intake.queue) if self._intake else 0)

    @property
    def _committing(self) -> list[Unit[Any]]:
        """The batches being committed now (every lane's)."""
        return [*self._main.committing, *(self._intake.committing if self._intake else ())]

    def submit(
        self, work: Work[T], *, bounded: bool = True, ahead: bool = False, hurry: bool = False
    ) -> asyncio.Future[T]:
        """Queue a unit of work; the future resolves once it is committed (or failed).
        ``bounded=False`` is for what was already decided (routing decisions): the bound
        is for admitting new work, and a decision made must be recorded. ``ahead``: a
        unit that depends on nothing queued (a new contact with its customer) goes before
        the queued units that are not ahead themselves, so a burst of routing decisions
        (a shift start) does not hold up intake; ahead units keep their order. On
        PostgreSQL they go to the intake lane (the module says how the lanes keep order).
        ``hurry``: someone waits for it now, so its batch does not linger."""
        pending = self.pending
        if bounded and pending >= self.max_pending:
            raise JournalFull(f"{pending} writes are waiting; retry shortly")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._stopped:
            future.set_exception(JournalError("the store is closed"))
            return future
        lane, intake = self._main, self._intake
        if ahead and intake is not None:
            lane = intake
            lane.submitted += 1
            lane.queue.append(Unit(work, future, lane.submitted, hurry=hurry))
        elif ahead:
            lane.queue.insert(lane.ahead, Unit(work, future, hurry=hurry))
            lane.ahead += 1
        else:
            lane.queue.append(Unit(work, future, intake.submitted if intake else 0, hurry=hurry))
        lane.hurried += hurry
        # a lingering lane wakes only for what ends its wait (its timer ends the rest)
        if not lane.lingering or ahead or hurry or len(lane.queue) >= self.max_batch:
            lane.wake.set()
        return future

    async def run(self, work: Work[T], *, ahead: bool = False) -> T:
        """Submit and wait for the commit (its batch does not linger)."""
        return await self.submit(work, ahead=ahead, hurry=True)

    def hurry(self, future: asyncio.Future[Any] | None = None) -> None:
        """``Lane.hurry`` on the main lane (routing decisions, agent actions)."""
        self._main.hurry(future)

    def _lanes(self) -> list[Lane]:
        return [self._main] if self._intake is None else [self._intake, self._main]

    def start(self) -> None:
        for lane in self._lanes():
            if lane.task is None:
                lane.task = asyncio.create_task(self._loop(lane), name=lane.name)

    async def drain(self) -> None:
        """Wait until everything submitted so far, including the batches being committed,
        is committed or failed."""
        waiting = [future for lane in self._lanes() for future in lane.waiting()]
        if waiting:
            self.hurry()
            await asyncio.wait(waiting)

    async def stop(self) -> None:
        # everything submitted until the lanes are idle is committed (each drain hurries
        # what lingers); what comes after is refused
        while any(lane.queue or lane.committing for lane in self._lanes()):
            await self.drain()
        self._stopped = True
        for lane in self._lanes():
            if lane.task is not None:
                lane.task.cancel()
                await asyncio.gather(lane.task, return_exceptions=True)
                lane.task = None
            if lane.connection is not None:
                await dropped(lane.connection)
                lane.connection = None
        if self._thread is not None:
            self._thread.stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()
        if self._owns_engine:
            await self._engine.dispose()

    async def _loop(self, lane: Lane) -> None:
        while True:
            if not lane.queue:
                lane.wake.clear()
                await lane.wake.wait()
                continue
            if lane is self._main and self.linger > 0:
                await lane.linger(self.linger, self.max_batch)
            size = self.max_batch
            if lane is self._main and self._intake is not None:
                size = await self._after_intake(lane.queue, size, self._intake)
            batch = lane.take(size)
            lane.committing = batch
            try:
                await self._commit(batch, lane)
            finally:
                lane.committing = []

    @staticmethod
    async def _after_intake(queue: list[Unit[Any]], size: int, intake: Lane) -> int:
        """How many of the decisions at the head of ``queue`` (at most ``size``) the batch
        takes: those whose new contacts (the intake lane's units submitted before them) are
        all committed. If the first one's are not, wait for those first: what it decided
        may be about them."""
        earlier = intake.waiting(queue[0].intake_mark)
        if earlier:
            await asyncio.wait(earlier)
        committed = intake.committed()
        return min(size, bisect_right(queue, committed, key=lambda unit: unit.intake_mark))

    async def _commit(self, batch: list[Unit[Any]], lane: Lane) -> None:
        started = time.perf_counter()
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                results = await self._transaction(batch, lane)
            except UnitFailed:
                break  # one unit's own fault: answer each alone
            except Exception as exc:
                if delay is None or not passing(exc):
                    break
                log.warning(
                    "a batch of %d writes failed (%s); retry %d in %.2fs",
                    len(batch),
                    type(exc).__name__,
                    attempt + 1,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            self._observe(started, len(batch), lane)
            for unit, result in zip(batch, results, strict=True):
                if not unit.future.done():
                    unit.future.set_result(result)
            return
        await self._one_by_one(batch, lane)
        self._observe(started, len(batch), lane)

    async def _one_by_one(self, batch: list[Unit[Any]], lane: Lane) -> None:
        for unit in batch:
            try:
                (result,) = await self._transaction([unit], lane)
            except UnitFailed as failed:
                self._fail(unit, failed.error)
            except Exception as exc:  # the commit itself failed
                self._fail(unit, exc)
            else:
                if not unit.future.done():
                    unit.future.set_result(result)

    async def _transaction(self, batch: list[Unit[Any]], lane: Lane) -> list[Any]:
        if self._sync_engine is not None:
            return await self._on_loop(self._sync_engine, batch)
        return await self._on_engine(batch, lane)

    async def _on_engine(self, batch: list[Unit[Any]], lane: Lane) -> list[Any]:
        """The batch on the lane's connection (router/store/pg_connection.py): in a
        transaction, or without one if it writes once, on the intake lane or with the
        statement holding the router fence."""
        connection = lane.connection
        if connection is None or connection.closed or connection.invalidated:
            connection = lane.connection = await self._engine.connect()
        fence = None if self.fence is None else FenceCheck(*self.fence, shared=lane.shared)
        once = fence is not None or lane.shared
        try:
            if once and writes_once(batch):
                try:
                    return await in_autocommit(connection, self._once, batch, fence)
                except NeedsTransaction:
                    pass  # nothing was written: the batch in a transaction
            return await connection.run_sync(in_transaction, self._units, batch, lane.shared)
        except BaseException:
            lane.connection = None
            await dropped(connection)
            raise

    async def _on_loop(self, engine: Engine, batch: list[Unit[Any]]) -> list[Any]:
        """The batch on the loop; while another connection holds SQLite's write lock (a
        write outside the journal), try again shortly, up to ``LOCK_WAIT``. The writer's
        connection has no busy timeout: SQLite's own wait would hold the loop, and with
        it whatever the lock's holder is waiting for to commit."""
        deadline = 0.0
        delay = 0.001
        while True:
            try:
                return await self._on_loop_once(engine, batch)
            except OperationalError as exc:
                now = time.monotonic()
                deadline = deadline or now + LOCK_WAIT
                if not locked(exc) or now >= deadline:
                    raise
            self.stats.lock_waits += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    async def _on_loop_once(self, engine: Engine, batch: list[Unit[Any]]) -> list[Any]:
        """The batch's statements here, its commit in the journal's thread (the module
        says why). Nothing else uses the connection meanwhile: batches run one at a time.
        The connection is kept from batch to batch (a checkout and its reset cost a third
        of a small batch), and dropped after any failure."""
        connection = self._writer
        if connection is None or connection.closed or connection.invalidated:
            connection = self._writer = engine.connect()
        try:
            transaction = connection.begin()
            try:
                results = self._units(connection, batch, False)  # SQLite: one lane
            except BaseException:
                transaction.rollback()
                raise
            assert self._thread is not None  # (SQLite's)
            await finished(self._thread.run(transaction.commit))
        except BaseException:
            self._writer = None
            connection.close()  # rolls back whatever a failed commit left
            raise
        return results

    def _once(
        self, connection: Connection, batch: list[Unit[Any]], fence: FenceCheck | None
    ) -> list[Any]:
        first = cast(WritesOnce, batch[0].work)  # (the caller checked: writes_once)
        try:
            results = first.write_once(connection, [unit.work for unit in batch], fence)
        except (SQLAlchemyError, ValueError, LookupError) as exc:
            if passing(exc):
                raise  # the connection, not this unit: retry the batch
            raise UnitFailed(exc) from exc
        if len(results) != len(batch):
            raise UnitFailed(JournalError(f"{len(results)} results for {len(batch)} units"))
        return results

    def _units(self, connection: Connection, batch: list[Unit[Any]], shared: bool) -> list[Any]:
        if self.fence is not None:
            hold(connection, FenceCheck(*self.fence, shared=shared))
        results: list[Any] = []
        for run in runs(batch):
            try:
                if len(run) == 1:
                    results.append(run[0].work(connection))
                else:
                    first = cast(WritesTogether, run[0].work)  # (a run: writes_together)
                    together = first.write_together(connection, [unit.work for unit in run])
                    if len(together) != len(run):
                        raise JournalError(f"{len(together)} results for {len(run)} units")
                    results.extend(together)
            except (SQLAlchemyError, JournalError, ValueError, LookupError) as exc:
                if passing(exc):
                    raise  # the connection, not this unit: retry the batch
                raise UnitFailed(exc) from exc
        return results

    def _fail(self, unit: Unit[Any], exc: Exception) -> None:
        self.stats.failed_units += 1
        if not unit.future.done():
            unit.future.set_exception(self._convert(exc))

    def _observe(self, started: float, size: int, lane: Lane) -> None:
        seconds = time.perf_counter() - started
        stats = self.stats
        stats.batches += 1
        stats.units += size
        stats.commit_seconds += seconds
        stats.last_batch = size
        if stats.observe is not None:
            stats.observe(seconds, size, lane.label)
