"""Look-ups by two-column keys (router/store/pair_lookup.py) on real SQLite and PostgreSQL:
the rows of every pair asked for, none of pairs not asked for, and each look-up that
intake makes answered from the key's index, never by reading the whole table or the whole
of one gateway or kind (a cost that grew with every contact ever stored), even where the
planner has no statistics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.engine import Connection

from router.store.changes import CONTACTS
from router.store.customers import CUSTOMERS, IDENTITIES, OWNERS
from router.store.repository import Store
from router.store.take_batch import BY_MESSAGES
from skills.identity import email_identity, phone_identity
from tests.databases import contact_row
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


async def fill(store: Store, count: int) -> None:
    """``count`` stored contacts of gateway ``gw`` with a customer and an email each, and
    no planner statistics (as on a new table, or with autovacuum off)."""

    def insert_rows(connection: Connection) -> None:
        numbers = range(count)
        connection.execute(
            insert(CUSTOMERS), [{"id": f"k{n}", "name": "", "created_at": 1.0} for n in numbers]
        )
        connection.execute(
            insert(IDENTITIES),
            [
                {
                    "kind": "email",
                    "value": f"p{n}@example.it",
                    "customer_id": f"k{n}",
                    "created_at": 1.0,
                }
                for n in numbers
            ],
        )
        connection.execute(insert(CONTACTS), [contact_row(f"old{n}") for n in numbers])

    async with store.engine.begin() as connection:
        await connection.run_sync(insert_rows)


async def test_intake_looks_up_messages_and_identities_by_index(store: Store) -> None:
    await fill(store, 3_000)
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
    lookups = [(s, p) for s, p in seen if re.search(r"\b(contacts|identities)\b", s)]
    postgres = store.engine.dialect.name == "postgresql"
    # SQLite: message ids, identities of two kinds; PostgreSQL: all in one (pg_take.py)
    assert len(lookups) >= (1 if postgres else 3), seen

    def plans(connection: Connection) -> list[str]:
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        return [
            " / ".join(str(row[-1]) for row in connection.exec_driver_sql(explain + s, p))
            for s, p in lookups
        ]

    async with store.engine.connect() as connection:
        for plan in await connection.run_sync(plans):
            if postgres:  # one probe of the key per value, never a read of a whole range
                assert "Index Scan" in plan and "Seq Scan" not in plan, plan
                assert "Bitmap" not in plan, plan
            else:
                assert "SCAN contacts" not in plan and "SCAN identities" not in plan, plan
