"""The hot tables' planner statistics follow their growth (router/store/pg_statistics.py), on
real PostgreSQL: a statement prepared while ``contacts`` was empty keeps its plan (a read
of the whole table) as the table grows, until an ANALYZE (the router's looks,
pg_statistics.py), after which it is planned again as a probe of the primary key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from router.store.pg_changes import statement
from router.store.pg_statistics import (
    MIN_PAGES,
    STATISTICS_TARGET,
    StatisticsKeeper,
    outgrown,
)
from router.store.repository import Store
from tests.databases import database
from tests.router.store.test_pair_lookup import fill


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A store on PostgreSQL; nothing looks at its tables but the test (the router's
    stack runs the looks, api/node/stack.py)."""
    async with database("postgresql", tmp_path) as url:
        opened = await Store.open(url)
        try:
            yield opened
        finally:
            await opened.close()


def test_a_table_is_outgrown_at_twice_its_pages_and_past_a_small_size() -> None:
    sizes = [
        ("contacts", 0, MIN_PAGES),  # never analyzed, now past the small size
        ("offers", 0, MIN_PAGES - 1),  # still small
        ("customers", 40, 79),  # not yet twice
        ("identities", 40, 80),
        ("messages", 100, 100),
        ("threads", 0, 2 * MIN_PAGES),
        ("outbox_events", MIN_PAGES, 4 * MIN_PAGES),
    ]
    # the most outgrown first: never analyzed (the larger first), then by growth
    assert outgrown(sizes) == ["threads", "contacts", "outbox_events", "identities"]


async def look_until_done(keeper: StatisticsKeeper) -> list[str]:
    """Look until no table is outgrown: the tables analyzed, one a look."""
    analyzed: list[str] = []
    while (name := await keeper.look()) is not None:
        assert name not in analyzed
        analyzed.append(name)
    return analyzed


async def contacts_plan(connection: AsyncConnection) -> str:
    """The generic plan of the prepared ``decisions`` statement, its lines on contacts
    (each EXPLAIN in a transaction of its own, as the journal's batches are: a transaction
    holding the table's lock would not see the plan invalidated)."""
    arguments = ", ".join("NULL" for _ in range(5))
    rows = (await connection.exec_driver_sql(f"EXPLAIN EXECUTE decisions({arguments})")).all()
    await connection.commit()
    return " / ".join(row[0].strip() for row in rows if "on contacts" in row[0])


async def test_a_plan_made_on_an_empty_table_is_made_again_once_the_table_grew(
    store: Store,
) -> None:
    keeper = StatisticsKeeper(store.engine)
    decisions = statement(("state",), (), False).compile(dialect=asyncpg.dialect())
    assert len(decisions.positiontup or ()) == 5
    async with store.engine.connect() as connection:
        await connection.execute(text("SET plan_cache_mode = force_generic_plan"))
        await connection.exec_driver_sql(f"PREPARE decisions AS {decisions}")
        await connection.commit()
        assert "Seq Scan on contacts" in await contacts_plan(connection)
        assert await keeper.look() is None  # nothing has grown

        await fill(store, 3_000)
        # PostgreSQL keeps the plan it made for an empty table
        assert "Seq Scan on contacts" in await contacts_plan(connection)

        # one table a look: the three that grew, in three looks
        assert {"contacts", "customers", "identities"} <= set(await look_until_done(keeper))
        plan = await contacts_plan(connection)
        assert "Index Scan using contacts_pkey" in plan and "Seq Scan" not in plan, plan


async def test_the_analyzes_sample_little_and_leave_the_connection_as_it_was(
    store: Store,
) -> None:
    engine = create_async_engine(store.engine.url, pool_size=1, max_overflow=0)
    try:
        await fill(store, 3_000)
        assert "contacts" in await look_until_done(StatisticsKeeper(engine))
        async with engine.connect() as connection:  # the keeper's connection, back
            assert await connection.scalar(text("SHOW default_statistics_target")) == "100"
            bounds = await connection.scalar(
                text(
                    "SELECT array_length(histogram_bounds, 1) FROM pg_stats "
                    "WHERE tablename = 'contacts' AND attname = 'id'"
                )
            )
        assert bounds == STATISTICS_TARGET + 1
    finally:
        await engine.dispose()


async def test_a_table_another_analyze_holds_does_not_keep_the_others_waiting(
    store: Store,
) -> None:
    async with store.engine.begin() as connection:  # only the test's looks analyze them
        for table in ("contacts", "customers", "identities"):
            await connection.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
    await fill(store, 3_000)
    keeper = StatisticsKeeper(store.engine)
    async with store.engine.connect() as holder:  # as autovacuum's ANALYZE would hold it
        await holder.execute(text("LOCK TABLE contacts IN SHARE UPDATE EXCLUSIVE MODE"))
        held = await look_until_done(keeper)
        assert "contacts" not in held and {"customers", "identities"} <= set(held)
        await holder.rollback()
    assert await look_until_done(keeper) == ["contacts"]  # its turn, once let go
