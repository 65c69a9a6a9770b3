"""How long PostgreSQL's backends waited for the WAL to reach the disk, during a run.

    with WalWaits(database_url) as waits:
        ...                      # the run
    print(waits.report())

Every commit on PostgreSQL (``synchronous_commit=on``) waits until its WAL is flushed:
one backend calls ``fdatasync`` (wait event ``IO/WALSync``) while the others queue for it
(``LWLock/WALWrite``). On the development VM a flush usually takes well under a
millisecond, but now and then one takes 50-80 ms, and every commit of both journal lanes
waits behind it: the new contacts arriving meanwhile reach their desktops that much later
(the slowest offers of a run, and part of its p99). This watcher tells that storage tail
from the router's own delays.

A process of its own (so the load generator's loop does not pay for it) samples
``pg_stat_activity`` every few milliseconds over its own connection and follows each
statement's wait: a stall is a run of samples of one statement (backend and start time)
in a WAL wait, its length the time from the first to the last such sample (so a stall
shorter than the sampling period may go unseen, and lengths are rounded down by up to one
period). The sampling costs a few percent of a core.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from types import TracebackType
from typing import Any

WAL_WAITS = {("IO", "WALSync"), ("IO", "WALWrite"), ("LWLock", "WALWrite")}
PERIOD = 0.003  # s between samples
REPORTED = 0.005  # s: stalls at least this long are counted
QUERY = """
SELECT pid, query_start, wait_event_type, wait_event FROM pg_stat_activity
WHERE datname = $1 AND backend_type = 'client backend' AND state = 'active'
  AND pid <> pg_backend_pid()
"""


Statement = tuple[int, float]  # backend pid, the statement's start (epoch seconds)


def stalls_of(sweeps: list[tuple[float, set[Statement]]]) -> list[float]:
    """Stall lengths (s), in the order they ended, from sweeps (time, the statements then
    in a WAL wait): a stall is a statement's run of sweeps in a WAL wait, ended by the
    first sweep that does not find it waiting."""
    started: dict[Statement, float] = {}
    last: dict[Statement, float] = {}
    stalls: list[float] = []
    for at, waiting in sweeps:
        for statement in [s for s in started if s not in waiting]:
            stalls.append(last[statement] - started.pop(statement))
        for statement in waiting:
            started.setdefault(statement, at)
            last[statement] = at
    stalls.extend(last[statement] - first for statement, first in started.items())
    return stalls


def _watch(dsn: str, database: str, stop: Any, out: Any) -> None:
    """The watching process (multiprocessing target): samples until ``stop`` is set."""

    async def run() -> list[tuple[float, set[Statement]]]:
        import asyncpg

        connection = await asyncpg.connect(dsn)
        sweeps: list[tuple[float, set[Statement]]] = []
        try:
            while not stop.is_set():
                at = time.perf_counter()
                waiting = set()
                for row in await connection.fetch(QUERY, database):
                    if (row["wait_event_type"], row["wait_event"]) in WAL_WAITS:
                        start = row["query_start"]  # set while a statement is active
                        waiting.add((row["pid"], start.timestamp() if start else 0.0))
                sweeps.append((at, waiting))
                await asyncio.sleep(PERIOD)
        finally:
            await connection.close()
        return sweeps

    out.put(stalls_of(asyncio.run(run())))


class WalWaits:
    """Watches the backends of one database (a SQLAlchemy or libpq URL) while in use."""

    def __init__(self, database_url: str) -> None:
        dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
        self._database = dsn.rsplit("/", 1)[1].split("?", 1)[0]
        context = multiprocessing.get_context("spawn")
        self._stop = context.Event()
        self._out = context.Queue()
        self._process = context.Process(
            target=_watch, args=(dsn, self._database, self._stop, self._out), daemon=True
        )
        self.stalls: list[float] = []
        self.seconds = 0.0

    def __enter__(self) -> WalWaits:
        self._started = time.perf_counter()
        self._process.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self.seconds = time.perf_counter() - self._started
        self.stalls = self._out.get(timeout=60)
        self._process.join()

    def report(self) -> str:
        long = sorted((s for s in self.stalls if s >= REPORTED), reverse=True)
        if not long:
            return (
                f"  PostgreSQL WAL flushes: no statement seen waiting {REPORTED * 1000:.0f} ms or "
                f"more in {self.seconds:.0f} s (sampled every {PERIOD * 1000:.0f} ms)"
            )
        return (
            f"  PostgreSQL WAL flushes: {len(long)} waits of {REPORTED * 1000:.0f} ms or more in "
            f"{self.seconds:.0f} s (sampled every {PERIOD * 1000:.0f} ms; a wait is one "
            f"statement's: one slow flush can show in each backend waiting for it), longest "
            + ", ".join(f"{s * 1000:.0f}" for s in long[:5])
            + " ms (bench/wal_waits.py)"
        )
