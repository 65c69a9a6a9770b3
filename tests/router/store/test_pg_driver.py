"""The journal's hot statements through the driver's cursor (router/store/pg_driver.py), on
a real PostgreSQL: rows and named parameters as through ``Connection.execute``, SQLAlchemy's
errors, the connection's transaction kept, statement listeners told."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from router.store import pg_driver
from router.store.repository import Store
from router.store.schema import CustomerRow

pytestmark = pytest.mark.parametrize("store", ["postgresql"], indirect=True)

CUSTOMERS = CustomerRow.__table__
ADD = text(
    "INSERT INTO customers (id, name, created_at) "
    "SELECT * FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:names AS VARCHAR[]), "
    "CAST(:at AS FLOAT8[])) RETURNING id, name"
)


def add(connection: Connection, *ids: str) -> list[tuple[Any, ...]]:
    rows = pg_driver.execute(
        connection,
        ADD,
        {"names": [f"n-{i}" for i in ids], "ids": list(ids), "at": [1.0] * len(ids)},
    )
    return [tuple(row) for row in rows]


async def names(store: Store) -> dict[str, str]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.name))
        return {row[0]: row[1] for row in rows}


async def test_rows_come_back_and_parameters_go_by_name(store: Store) -> None:
    repeated = text("SELECT CAST(:a AS INTEGER) + CAST(:b AS INTEGER), CAST(:a AS INTEGER)")
    async with store.engine.begin() as connection:
        assert await connection.run_sync(add, "c1", "c2") == [("c1", "n-c1"), ("c2", "n-c2")]
        summed = await connection.run_sync(
            lambda c: [tuple(row) for row in pg_driver.execute(c, repeated, {"b": 2, "a": 40})]
        )
    assert summed == [(42, 40)]
    assert await names(store) == {"c1": "n-c1", "c2": "n-c2"}


async def test_a_unique_key_refusal_is_sqlalchemys_integrity_error(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.run_sync(add, "c1")
    with pytest.raises(IntegrityError) as refused:
        async with store.engine.begin() as connection:
            await connection.run_sync(add, "c2", "c1")
    assert refused.value.connection_invalidated is False
    assert await names(store) == {"c1": "n-c1"}  # the statement failed whole


async def test_the_connections_transaction_holds_the_statement(store: Store) -> None:
    """Not in autocommit, the statement runs in the transaction the connection begins, so
    a rollback undoes it."""
    async with store.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.run_sync(add, "c1")
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None and driver.is_in_transaction()
        await transaction.rollback()
    assert await names(store) == {}


async def test_statement_listeners_are_told(store: Store) -> None:
    seen: list[tuple[str, str, Any]] = []
    engine = store.engine.sync_engine

    def before(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(("before", statement.split()[0], parameters))

    def after(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append(("after", statement.split()[0], parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        async with store.engine.begin() as connection:
            await connection.run_sync(add, "c1")
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    assert seen == [
        ("before", "INSERT", (["c1"], ["n-c1"], [1.0])),
        ("after", "INSERT", (["c1"], ["n-c1"], [1.0])),
    ]


async def test_a_lost_connection_is_invalidated(store: Store) -> None:
    async with store.engine.connect() as connection:
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await connection.commit()
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        async with store.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with asyncio.timeout(30):  # the driver reads the server's goodbye
            while not driver.is_closed():
                await asyncio.sleep(0.01)
        with pytest.raises((OperationalError, InterfaceError)) as lost:
            await connection.run_sync(add, "c1")
        assert lost.value.connection_invalidated is True
        assert connection.invalidated
