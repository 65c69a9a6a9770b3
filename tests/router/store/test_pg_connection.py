"""The journal's PostgreSQL connection helpers (router/store/pg_connection.py), on a real
server: a batch in a transaction, or in autocommit, each in one call into the driver."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from router.store.pg_connection import in_autocommit, in_transaction
from tests.databases import postgres_database

SETUP = "CREATE TABLE batch_rows (id INTEGER PRIMARY KEY)"


def _insert(connection: Connection, ids: list[int]) -> list[Any]:
    for row_id in ids:
        connection.execute(text("INSERT INTO batch_rows (id) VALUES (:id)"), {"id": row_id})
    return ids


def _insert_then_fail(connection: Connection, ids: list[int]) -> list[Any]:
    _insert(connection, ids)
    raise ValueError("the batch's own fault")


async def _stored(connection: AsyncConnection) -> list[int]:
    rows = await connection.execute(text("SELECT id FROM batch_rows ORDER BY id"))
    return [row_id for (row_id,) in rows]


async def _with_table(test: Any) -> None:
    async with postgres_database() as url:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(SETUP))
            async with engine.connect() as connection:
                await test(connection)
        finally:
            await engine.dispose()


async def test_a_batch_in_a_transaction_commits_whole_or_not_at_all() -> None:
    async def test(connection: AsyncConnection) -> None:
        assert await connection.run_sync(in_transaction, _insert, [1, 2]) == [1, 2]
        with pytest.raises(ValueError):
            await connection.run_sync(in_transaction, _insert_then_fail, [3, 4])
        assert not connection.in_transaction()
        assert await _stored(connection) == [1, 2]

    await _with_table(test)


async def test_a_batch_in_autocommit_keeps_each_statement_and_leaves_the_flag_off() -> None:
    async def test(connection: AsyncConnection) -> None:
        assert await in_autocommit(connection, _insert, [1, 2]) == [1, 2]
        with pytest.raises(ValueError):
            await in_autocommit(connection, _insert_then_fail, [3])
        assert await _stored(connection) == [1, 2, 3]  # no transaction to roll back
        driver = (await connection.get_raw_connection()).dbapi_connection
        assert driver is not None and driver.autocommit is False
        await connection.rollback()

    await _with_table(test)
