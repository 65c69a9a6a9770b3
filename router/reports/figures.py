"""Where an interval's figures are computed: in a process of its own, not the router's.

Refreshing the interval in progress (every ``reports.refresh`` seconds, and once per report
request) reads every contact live in it with all their events and aggregates them: with a
busy interval, thousands of rows turned into Python objects and walked. Done in the
router's process, the reading ran on the routing loop and the aggregation in a thread that
took turns with it at the interpreter lock: bench/offer_latency.py (2,000 agents, 80
contacts/s, SQLite) measured the time from a POST to its offer on a desktop at p99
47–55 ms, with bursts of 15–25 ms event-loop stalls every 60 s; with the refresh moved out
of the run, 20 ms.

So ``WorkerFigures`` reads and aggregates in one worker process (started on first use,
``spawn``: the router's threads are not forked) with a connection of its own, and hands
back only the figures; the router writes them through its journal as before. A database
another process cannot open (SQLite in memory) keeps ``LocalFigures``, the old way.

The worker leaves with the router: killed (``kill -9``), the router cannot tell it to, and
a pool's worker holds both ends of its own call queue, so it would wait for work forever
(the benches left one behind for every server they killed). So it watches the router's
process sentinel and exits when that closes.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from router.reports.aggregate import IntervalFigures, aggregate
from router.reports.records import ReportRecords
from router.rules.model import RoutingConfig
from router.store.errors import StoreError
from router.store.journal import T, Work


class Figures(Protocol):
    """The figures of the interval starting at ``start``, time-based ones up to ``now``."""

    async def __call__(
        self, start: float, now: float, config: RoutingConfig
    ) -> IntervalFigures: ...

    def close(self) -> None: ...


class LocalFigures:
    """In the router's process: the inputs read on its loop, aggregated in a thread."""

    def __init__(self, records: ReportRecords) -> None:
        self.records = records

    async def __call__(self, start: float, now: float, config: RoutingConfig) -> IntervalFigures:
        inputs = await self.records.inputs(start)
        return await asyncio.to_thread(aggregate, start, now, inputs, config)

    def close(self) -> None:
        pass


class WorkerFigures:
    """In a worker process of their own, reading ``url`` with its own connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool: ProcessPoolExecutor | None = None

    async def __call__(self, start: float, now: float, config: RoutingConfig) -> IntervalFigures:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent
            )
        work = self._pool.submit(figures_from_database, self.url, start, now, config)
        try:
            return await asyncio.wrap_future(work)
        except BrokenProcessPool:  # the worker died (killed, out of memory): a new one next time
            self._pool = None
            raise StoreError("the report worker stopped; the next refresh starts another") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def figures_for(url: str, records: ReportRecords) -> Figures:
    """A worker process where the database can be opened from one, else in this process."""
    parsed = make_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")
    return LocalFigures(records) if in_memory else WorkerFigures(url)


def exit_with_parent() -> None:
    """In the worker process: leave as soon as the process that started it is gone."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's end of the sentinel pipe closes
        os._exit(0)

    threading.Thread(target=watch, name="centralino-exit-with-parent", daemon=True).start()


def figures_from_database(
    url: str, start: float, now: float, config: RoutingConfig
) -> IntervalFigures:
    """In the worker process: read the interval's inputs, aggregate them. A database error
    comes back as a StoreError (the driver's own may not even survive the trip back)."""
    try:
        return asyncio.run(_read_and_aggregate(url, start, now, config))
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"report figures not read: {type(exc).__name__}") from None


async def _read_and_aggregate(
    url: str, start: float, now: float, config: RoutingConfig
) -> IntervalFigures:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        records = ReportRecords(async_sessionmaker(engine, expire_on_commit=False), _read_only)
        inputs = await records.inputs(start)
    finally:
        await engine.dispose()
    return aggregate(start, now, inputs, config)


async def _read_only(work: Work[T]) -> T:
    raise StoreError("the report worker only reads")
