"""The journal's hot statements through the driver's cursor (router/store/driver.py): on a
real PostgreSQL, text statements (rows and named parameters as through
``Connection.execute``, SQLAlchemy's errors, the connection's transaction kept, statement
listeners told); on SQLite, INSERTs as one ``executemany`` (defaults and JSON as through
SQLAlchemy, the rows changed counted, its errors, listeners told)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from router.store import driver
from router.store.changes import CONTACTS, OUTBOX
from router.store.repository import Store
from router.store.schema import CustomerRow

POSTGRES = pytest.mark.parametrize("store", ["postgresql"], indirect=True)
SQLITE = pytest.mark.parametrize("store", ["sqlite"], indirect=True)

CUSTOMERS = CustomerRow.__table__
ADD = text(
    "INSERT INTO customers (id, name, created_at) "
    "SELECT * FROM unnest(CAST(:ids AS VARCHAR[]), CAST(:names AS VARCHAR[]), "
    "CAST(:at AS FLOAT8[])) RETURNING id, name"
)


def add(connection: Connection, *ids: str) -> list[tuple[Any, ...]]:
    rows = driver.execute(
        connection,
        ADD,
        {"names": [f"n-{i}" for i in ids], "ids": list(ids), "at": [1.0] * len(ids)},
    )
    return [tuple(row) for row in rows]


async def names(store: Store) -> dict[str, str]:
    async with store.engine.connect() as connection:
        rows = await connection.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.name))
        return {row[0]: row[1] for row in rows}


@POSTGRES
async def test_rows_come_back_and_parameters_go_by_name(store: Store) -> None:
    repeated = text("SELECT CAST(:a AS INTEGER) + CAST(:b AS INTEGER), CAST(:a AS INTEGER)")
    async with store.engine.begin() as connection:
        assert await connection.run_sync(add, "c1", "c2") == [("c1", "n-c1"), ("c2", "n-c2")]
        summed = await connection.run_sync(
            lambda c: [tuple(row) for row in driver.execute(c, repeated, {"b": 2, "a": 40})]
        )
    assert summed == [(42, 40)]
    assert await names(store) == {"c1": "n-c1", "c2": "n-c2"}


@POSTGRES
async def test_a_unique_key_refusal_is_sqlalchemys_integrity_error(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.run_sync(add, "c1")
    with pytest.raises(IntegrityError) as refused:
        async with store.engine.begin() as connection:
            await connection.run_sync(add, "c2", "c1")
    assert refused.value.connection_invalidated is False
    assert await names(store) == {"c1": "n-c1"}  # the statement failed whole


@POSTGRES
async def test_the_connections_transaction_holds_the_statement(store: Store) -> None:
    """Not in autocommit, the statement runs in the transaction the connection begins, so
    a rollback undoes it."""
    async with store.engine.connect() as connection:
        transaction = await connection.begin()
        await connection.run_sync(add, "c1")
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None and raw.is_in_transaction()
        await transaction.rollback()
    assert await names(store) == {}


@POSTGRES
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


@POSTGRES
async def test_a_lost_connection_is_invalidated(store: Store) -> None:
    async with store.engine.connect() as connection:
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        await connection.commit()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        async with store.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with asyncio.timeout(30):  # the driver reads the server's goodbye
            while not raw.is_closed():
                await asyncio.sleep(0.01)
        with pytest.raises((OperationalError, InterfaceError)) as lost:
            await connection.run_sync(add, "c1")
        assert lost.value.connection_invalidated is True
        assert connection.invalidated


def contact(contact_id: str, message: str) -> dict[str, Any]:
    """A contact's row as intake gives it: some columns left to their defaults."""
    return {
        "id": contact_id,
        "gateway": "web",
        "external_id": message,
        "channel": "chat",
        "queue": "support",
        "rule": "default",
        "policy": {"queue": "support", "skills": ["it"]},
        "triage": {"received": {"language": "it", "urgency": 0.5}},
        "state": "received",
        "arrival": 1.0,
        "updated_at": 1.0,
    }


async def insert_many(store: Store, statement: Any, rows: list[dict[str, Any]]) -> int:
    async with store.engine.begin() as connection:
        return await connection.run_sync(lambda c: driver.execute_many(c, statement, rows))


@SQLITE
async def test_many_rows_are_inserted_with_defaults_and_json_as_sqlalchemy_would(
    store: Store,
) -> None:
    rows = [contact("c1", "m1"), contact("c2", "m2") | {"text": "ciao", "urgency": 0.9}]
    rows[1].pop("triage")  # its default instead
    rows[0].pop("triage")
    assert await insert_many(store, CONTACTS.insert(), rows) == 2
    async with store.engine.connect() as connection:
        stored = (await connection.execute(CONTACTS.select().order_by(CONTACTS.c.id))).all()
    assert [(r.id, r.domain, r.text, r.urgency, r.triage, r.excluded_agents) for r in stored] == [
        ("c1", "default", "", 0.0, {}, []),
        ("c2", "default", "ciao", 0.9, {}, []),
    ]
    assert stored[0].policy == {"queue": "support", "skills": ["it"]}


@SQLITE
async def test_the_rows_changed_are_counted_and_a_skipped_conflict_is_not(store: Store) -> None:
    skip = sqlite_insert(CONTACTS).on_conflict_do_nothing(index_elements=["gateway", "external_id"])
    assert await insert_many(store, skip, [contact("c1", "m1")]) == 1
    rows = [contact("c2", "m2"), contact("c3", "m1"), contact("c4", "m3")]  # m1: stored
    assert await insert_many(store, skip, rows) == 2
    async with store.engine.connect() as connection:
        ids = (await connection.execute(select(CONTACTS.c.id).order_by(CONTACTS.c.id))).scalars()
        assert list(ids) == ["c1", "c2", "c4"]


@SQLITE
async def test_a_refused_row_is_sqlalchemys_integrity_error_and_nothing_stays(
    store: Store,
) -> None:
    event = {"contact_id": "c1", "type": "contact.queued", "at": 1.0, "payload": {"a": 1}}
    await insert_many(store, OUTBOX.insert(), [event | {"event_id": "e1"}])
    with pytest.raises(IntegrityError) as refused:
        await insert_many(
            store, OUTBOX.insert(), [event | {"event_id": "e2"}, event | {"event_id": "e1"}]
        )
    assert refused.value.orig is not None
    assert refused.value.connection_invalidated is False
    async with store.engine.connect() as connection:
        stored = (await connection.execute(select(OUTBOX.c.event_id, OUTBOX.c.payload))).all()
    assert [tuple(row) for row in stored] == [("e1", {"a": 1})]  # the transaction rolled back


@SQLITE
async def test_listeners_are_told_of_an_executemany(store: Store) -> None:
    seen: list[tuple[str, int, bool]] = []
    engine = store.engine.sync_engine

    def before(_c: Any, _cursor: Any, statement: str, parameters: Any, _x: Any, many: bool) -> None:
        seen.append((statement.split()[0], len(parameters), many))

    event.listen(engine, "before_cursor_execute", before)
    try:
        await insert_many(store, CONTACTS.insert(), [contact("c1", "m1"), contact("c2", "m2")])
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert seen == [("INSERT", 2, True)]


@SQLITE
async def test_a_listener_of_one_connection_is_told_and_others_are_not(store: Store) -> None:
    """Listeners are looked for only where SQLAlchemy itself looks (a flag on the
    connection and on its engine): one added to a connection alone is told of its
    statements; a statement on another connection, with no listener anywhere, still runs."""
    seen: list[str] = []

    def before(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0])

    rows = [contact("c1", "m1")]
    async with store.engine.begin() as connection:
        sync = connection.sync_connection
        assert sync is not None
        event.listen(sync, "before_cursor_execute", before)
        await connection.run_sync(driver.execute_many, CONTACTS.insert(), rows)
    assert seen == ["INSERT"]
    async with store.engine.begin() as connection:
        await connection.run_sync(driver.execute_many, CONTACTS.insert(), [contact("c2", "m2")])
    assert seen == ["INSERT"]
