"""A read outside a transaction gives its connection back to the pool as it ends, without
waiting a turn of the event loop (router/store/prompt_reads.py), on real SQLite and real
PostgreSQL: SQLAlchemy's ``async with engine.connect()`` closes in a task of its own and
waits for it, and under load the reads of that turn opened connections of their own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from router.store.histories import CustomerHistory, HistoryAsk, read_histories
from router.store.prompt_reads import prompt_read
from router.store.repository import Store
from router.store.schema import CustomerRow


@contextmanager
def opened_connections(engine: AsyncEngine) -> Iterator[list[object]]:
    """Every connection the engine's pool opens meanwhile."""
    opened: list[object] = []

    def seen(dbapi_connection: Any, _record: Any) -> None:
        opened.append(dbapi_connection)

    event.listen(engine.sync_engine, "connect", seen)
    try:
        yield opened
    finally:
        event.remove(engine.sync_engine, "connect", seen)


@asynccontextmanager
async def loop_turns() -> AsyncIterator[list[int]]:
    """A task counting the turns the event loop gives it: a coroutine that does not yield
    leaves the count as it was."""
    turns = [0]

    async def tick() -> None:
        while True:
            await asyncio.sleep(0)
            turns[0] += 1

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        yield turns
    finally:
        ticker.cancel()


async def test_the_connection_is_back_in_the_pool_without_a_turn_of_the_loop(
    store: Store,
) -> None:
    engine = store._autocommit
    async with prompt_read(engine) as connection:  # a first connection in the pool
        await connection.execute(select(1))
    async with loop_turns() as turns:
        async with prompt_read(engine) as connection:
            await connection.execute(select(CustomerRow.id))
            seen = turns[0]
            assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        assert turns[0] == seen
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_sqlalchemys_own_close_waits_a_turn(store: Store) -> None:
    """What prompt_read is for: if SQLAlchemy stops closing in a task, it can go."""
    async with loop_turns() as turns:
        connection: AsyncConnection
        async with store._autocommit.connect() as connection:
            await connection.execute(select(CustomerRow.id))
            seen = turns[0]
        assert turns[0] > seen


async def test_history_reads_side_by_side_share_sqlites_connection(store: Store) -> None:
    """SQLite's reads run on the loop without yielding: twenty customers' histories read
    at once need the one connection the pool keeps (with SQLAlchemy's close each read
    found the others' connections still closing and opened its own: fifteen). Read
    through the engine, as an in-memory database does (a file's go through the kept
    connection, router/store/kept_reads.py)."""
    if store.engine.dialect.name != "sqlite":
        return  # PostgreSQL's reads wait for the server: concurrent ones need connections

    async def history(customer: str) -> CustomerHistory:  # through the engine, not kept reads
        async with prompt_read(store._autocommit) as connection:
            [found] = await read_histories(connection, [HistoryAsk(customer, 0.0)])
            return found

    await history("warm")
    with opened_connections(store.engine) as opened:
        histories = await asyncio.gather(*(history(f"customer-{n}") for n in range(20)))
    assert [history.previous_contacts for history in histories] == [0] * 20
    assert opened == []
