"""New contacts of one journal batch taken in together (router/store/take_batch.py), on real
SQLite and PostgreSQL: the same contacts and customers as taking them one by one, a retry
or a twin in the batch stored once, a customer given twice made once, and a contact that
links two customers taken the linking way."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, func, select

from router.states import RECEIVED
from router.store.changes import CONTACTS
from router.store.customers import CUSTOMERS, IDENTITIES
from router.store.repository import Store
from router.store.take_batch import Taken
from skills.identity import Identity, email_identity, phone_identity
from tests.engine_helpers import policy

MARIO = email_identity("mario@example.it")
MARIO_PHONE = phone_identity("333 123 4567")
LUCIA = email_identity("lucia@example.it")


def received(message_id: str) -> dict[str, Any]:
    return {
        "id": f"c-{message_id}",
        "gateway": "gw",
        "external_id": message_id,
        "channel": "chat",
        "customer_id": None,
        "queue": "",
        "rule": "",
        "policy": policy("billing").to_dict(),
        "triage": {RECEIVED: {"language": "it"}},
        "state": RECEIVED,
        "arrival": 1.0,
        "updated_at": 1.0,
    }


async def take(store: Store, message_id: str, *identities: Identity) -> Taken:
    return await store.received.take(received(message_id), identities, "", 1.0)


async def count(store: Store, table: Any) -> int:
    async with store.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar())


async def test_a_batch_of_new_contacts_is_taken_in_together(store: Store) -> None:
    first = await take(store, "m0", MARIO)  # before the batch: Mario is known
    statements: list[str] = []
    engine = store.journal._sync_engine or store.journal._engine.sync_engine

    def seen(*args: Any) -> None:
        statements.append(args[2].split()[0])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        taken = await asyncio.gather(
            take(store, "m1", LUCIA),  # a new customer
            take(store, "m2", LUCIA, MARIO_PHONE),  # Lucia again, with a new identity
            take(store, "m3", MARIO),  # known from before the batch
            take(store, "m0", MARIO),  # a retry of a stored message
            take(store, "m1", LUCIA),  # a twin in the same batch
            take(store, "m4"),  # no identities
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    lucia = taken[0].customer
    assert lucia is not None and lucia.created and not lucia.known
    again = taken[1].customer
    assert again is not None and again.customer_id == lucia.customer_id and again.known
    mario = taken[2].customer
    assert first.customer is not None and mario is not None
    assert mario.customer_id == first.customer.customer_id and mario.known
    assert [t.created for t in taken] == [True, True, True, False, False, True]
    assert taken[3].contact_id == "c-m0" and taken[4].contact_id == "c-m1"
    assert taken[5].customer is None
    assert taken[1].row is not None
    assert taken[1].row["triage"][RECEIVED] == {
        "language": "it",
        "known_customer": True,
        "linked": [],
    }
    assert await count(store, CONTACTS) == 5
    assert await count(store, CUSTOMERS) == 2
    assert await count(store, IDENTITIES) == 3  # mario's email, lucia's email, the phone
    async with store.engine.connect() as connection:
        owner = await connection.execute(
            select(CONTACTS.c.customer_id).where(CONTACTS.c.id == "c-m2")
        )
        assert owner.scalar() == lucia.customer_id
    # five new contacts and a retry: a few statements for all, not five per contact
    assert len([s for s in statements if s in ("SELECT", "INSERT", "UPDATE")]) <= 12


async def test_a_contact_that_links_two_customers_is_taken_the_linking_way(store: Store) -> None:
    mario = (await take(store, "m1", MARIO)).customer
    phone = (await take(store, "m2", MARIO_PHONE)).customer
    assert mario is not None and phone is not None and mario.customer_id != phone.customer_id
    both, lucia = await asyncio.gather(
        take(store, "m3", MARIO, MARIO_PHONE),  # links them: the run is taken one by one
        take(store, "m4", LUCIA),
    )
    assert both.customer is not None and len(both.customer.merged) == 1
    linked = {both.customer.customer_id, *both.customer.merged}
    assert linked == {mario.customer_id, phone.customer_id}
    assert lucia.customer is not None and lucia.customer.created
    assert await count(store, CONTACTS) == 4
