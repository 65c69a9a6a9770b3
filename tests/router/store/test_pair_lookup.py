"""Look-ups by two-column keys (router/store/pair_lookup.py) on real SQLite and PostgreSQL:
the rows of every pair asked for, none of pairs not asked for, and each look-up that
intake makes answered from the key's index, never by reading the whole table (a cost that
grew with every contact ever stored)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection

from router.store.customers import OWNERS
from router.store.repository import Store
from router.store.take_batch import BY_MESSAGES
from skills.identity import email_identity, phone_identity
from tests.router.store.test_take_batch import take

MARIO = email_identity("mario@example.it")
MARIO_PHONE = phone_identity("333 123 4567")
LUCIA = email_identity("lucia@example.it")


async def test_rows_are_found_by_pairs_of_several_first_values(store: Store) -> None:
    mario = (await take(store, "m1", MARIO, MARIO_PHONE)).customer
    lucia = (await take(store, "m2", LUCIA)).customer
    assert mario is not None and lucia is not None
    wanted = {
        (MARIO.kind, MARIO.value),
        (MARIO_PHONE.kind, MARIO_PHONE.value),
        (LUCIA.kind, LUCIA.value),
        (MARIO_PHONE.kind, LUCIA.value),  # a value under another kind: not Lucia's
        ("email", "nobody@example.it"),
    }

    def look_up(connection: Connection) -> dict[tuple[str, str], str]:
        return {(k, v): c for k, v, c in OWNERS.rows(connection, wanted)}

    async with store.engine.connect() as connection:
        owners = await connection.run_sync(look_up)
    assert owners == {
        (MARIO.kind, MARIO.value): mario.customer_id,
        (MARIO_PHONE.kind, MARIO_PHONE.value): mario.customer_id,
        (LUCIA.kind, LUCIA.value): lucia.customer_id,
    }

    def messages(connection: Connection) -> set[tuple[str, str, str]]:
        pairs = [("gw", "m1"), ("gw", "m2"), ("other", "m1"), ("gw", "m9")]
        return {(g, m, c) for g, m, c in BY_MESSAGES.rows(connection, pairs)}

    async with store.engine.connect() as connection:
        assert await connection.run_sync(messages) == {("gw", "m1", "c-m1"), ("gw", "m2", "c-m2")}


async def test_intake_looks_up_messages_and_identities_by_index(store: Store) -> None:
    await take(store, "m0", MARIO)
    seen: list[tuple[str, Any]] = []
    engine = store.journal._sync_engine or store.journal._engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        await asyncio.gather(
            take(store, "m1", LUCIA, MARIO_PHONE), take(store, "m2", MARIO), take(store, "m0")
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    lookups = [(s, p) for s, p in seen if " contacts" in s or " identities" in s]
    assert lookups, seen
    postgres = store.engine.dialect.name == "postgresql"

    def plans(connection: Connection) -> list[str]:
        if postgres:
            connection.exec_driver_sql("SET enable_seqscan = off")  # an index if there is one
        found = []
        for statement, parameters in lookups:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = connection.exec_driver_sql(explain + statement, parameters).all()
            found.append(" / ".join(str(row[-1]) for row in rows))
        return found

    async with store.engine.connect() as connection:
        for plan in await connection.run_sync(plans):
            if postgres:
                assert "Seq Scan" not in plan, plan
            else:
                assert "SCAN contacts" not in plan and "SCAN identities" not in plan, plan
