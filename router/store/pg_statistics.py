"""PostgreSQL: the hot tables' planner statistics kept up with their growth.

asyncpg prepares each of the journal's statements once a connection, and PostgreSQL keeps
a prepared statement's generic plan until something invalidates it, such as an ANALYZE of
a table it reads. A plan made while ``contacts`` was nearly empty (a new database) joins
the routing decisions' rows to it by a hash over a read of the whole table
(router/store/pg_changes.py); it stays, while the table grows, until the table's first
ANALYZE, and with autovacuum off (or while autovacuum has not come round yet) every batch
of decisions reads every contact ever stored. In ``bench/offer_latency.py`` on PostgreSQL
(a new database, autovacuum off) that statement took 2.32 ms on average, 14-16 s of the
database's time a run (``pg_stat_statements``); with these ANALYZEs (at PostgreSQL's default
sample) 1.15-1.67 ms, 8.6-10 s.

So the active router (a background task of its stack, api/node/stack.py; one in a cluster
is enough: the statistics, and the invalidation of plans that an ANALYZE brings, are the
database's, for every node's connections) looks at the hot tables every few seconds (one
query of the catalogue) and runs ``ANALYZE`` on one that has grown to twice the pages it
had at its last ANALYZE (or VACUUM) and past a small size: a few times in a table's life
(at 128 kB, then at each doubling), each new plan then made from figures of the table's
present size. One table a look, the most outgrown first: the six that a new database
outgrew together, in one ANALYZE, took 78 ms of the database's time on a 2-core VM, the
routing decisions' statement beside it 38 ms, and all 46 of an offer-latency run's
slowest 1% were due in the 135 ms around it (the thirty-second session; one run, and four
pairs after showed no gain in the p99: this bounds one ANALYZE's length). Where
autovacuum runs it has usually been there first, and nothing is done. ``SKIP_LOCKED``: a
table that another ANALYZE or VACUUM holds (autovacuum, or a router that has just taken
over) is left to it, and the look goes on to the next outgrown table (a look that
stopped at it would find it first again, every look, while the others waited). A
failure is logged and tried again at the next look; nothing waits on this.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from router.store.schema import (
    AgentStateRow,
    ContactRow,
    CustomerRow,
    IdentityRow,
    MessageRow,
    OfferRow,
    OutboxEventRow,
    RoutingEventRow,
    ThreadRow,
)

log = logging.getLogger("centralino.store")

HOT_TABLES = tuple(
    row.__tablename__
    for row in (
        ContactRow,
        OfferRow,
        RoutingEventRow,
        OutboxEventRow,
        AgentStateRow,
        CustomerRow,
        IdentityRow,
        MessageRow,
        ThreadRow,
    )
)
"""The tables that grow with every contact and that the hot path's statements join."""

MIN_PAGES = 16
"""Below this (128 kB) a read of the whole table is as cheap as any plan."""

GROWTH = 2
"""ANALYZE once a table has this many times the pages of its last ANALYZE."""

INTERVAL = 5.0
"""Seconds between looks at the catalogue."""

STATISTICS_TARGET = 10
"""The ANALYZEs' ``default_statistics_target`` (PostgreSQL's default: 100): a sample of
3,000 rows a table instead of 30,000, enough for the plans of keyed writes and look-ups,
and a tenth of the work (30,000 contacts, customers and identities: 22-33 against 170-210
ms) on a machine whose cores the router shares. Autovacuum, where it runs, writes its own
fuller statistics as the table changes by a tenth."""

_SIZES = text(
    "SELECT c.relname, c.relpages, pg_relation_size(c.oid) / current_setting('block_size')::int "
    "FROM pg_class c WHERE c.relkind = 'r' AND c.relname IN :names "
    "AND c.relnamespace = to_regnamespace(current_schema())"
).bindparams(bindparam("names", expanding=True))


async def _sizes(connection: AsyncConnection, names: Sequence[str]) -> list[tuple[str, int, int]]:
    """(name, pages at the last ANALYZE or VACUUM, pages now) of these tables."""
    result = await connection.execute(_SIZES, {"names": list(names)})
    return [(str(name), int(then), int(now)) for name, then, now in result]


def outgrown(sizes: Sequence[tuple[str, int, int]]) -> list[str]:
    """The tables, of (name, pages at the last ANALYZE or VACUUM, pages now), whose
    statistics are out of date: at least ``MIN_PAGES`` now and ``GROWTH`` times then. The
    most outgrown first: never analyzed, then by growth, then the larger."""
    grown = [
        (name, then, now) for name, then, now in sizes if now >= MIN_PAGES and now >= GROWTH * then
    ]
    grown.sort(key=lambda size: (-size[2] / size[1] if size[1] else -math.inf, -size[2], size[0]))
    return [name for name, _then, _now in grown]


class StatisticsKeeper:
    """ANALYZE of the hot tables as they outgrow their statistics (``look`` once; ``run``
    to look every ``interval`` seconds)."""

    def __init__(
        self,
        engine: AsyncEngine,
        tables: Sequence[str] = HOT_TABLES,
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._engine = engine
        self._tables = tuple(tables)
        self._interval = interval

    async def look(self) -> str | None:
        """ANALYZE the table that has most outgrown its statistics, if one has: its name.
        One a look (the module says why); a table whose lock ``SKIP_LOCKED`` could not
        take (another ANALYZE or a VACUUM holds it, or a schema change) is passed over for
        the next, so that it cannot keep the others waiting."""
        async with self._engine.begin() as connection:  # SET LOCAL lasts to its end
            sizes = await _sizes(connection, self._tables)
            names = outgrown(sizes)
            if not names:
                return None
            await connection.execute(
                text(f"SET LOCAL default_statistics_target = {STATISTICS_TARGET}")
            )
            pages_then = {name: then for name, then, _now in sizes}
            for name in names:
                await connection.execute(text(f'ANALYZE (SKIP_LOCKED) "{name}"'))
                # an ANALYZE records the table's pages at once (in place, not at commit);
                # one skipped for a lock leaves them as they were
                ((_name, pages, _now),) = await _sizes(connection, [name])
                if pages != pages_then[name]:
                    log.info("analyzed %s: grown since its last statistics", name)
                    return name
                log.info("%s is locked (another ANALYZE, a VACUUM, a schema change): left", name)
            return None

    async def run(self) -> None:
        """Look every ``interval`` seconds, until cancelled (the router's background task,
        api/node/stack.py); a failed look is logged and the next one tries again."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.look()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("could not refresh the planner's statistics: %s", exc)
            except Exception:  # whatever else, the next look may do better
                log.exception("could not refresh the planner's statistics")
