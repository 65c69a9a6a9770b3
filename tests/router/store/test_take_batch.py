"""New contacts of one journal batch taken in together (router/store/take_batch.py), on real
SQLite and PostgreSQL: the same contacts and customers as taking them one by one, a retry
or a twin in the batch stored once, a customer given twice made once, and a contact that
links two customers taken the linking way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from router.states import RECEIVED
from router.store.changes import CONTACTS
from router.store.customers import CUSTOMERS, IDENTITIES
from router.store.repository import Store
from router.store.take_batch import Guesses, Taken
from router.store.thread_links import THREADS
from skills.identity import Identity, email_identity, phone_identity
from tests.databases import journal_statements, left_in_transaction
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
    with journal_statements(store) as statements:
        taken = await asyncio.gather(
            take(store, "m1", LUCIA),  # a new customer
            take(store, "m2", LUCIA, MARIO_PHONE),  # Lucia again, with a new identity
            take(store, "m3", MARIO),  # known from before the batch
            take(store, "m0", MARIO),  # a retry of a stored message
            take(store, "m1", LUCIA),  # a twin in the same batch
            take(store, "m4"),  # no identities
        )
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
    assert len([s for s in statements if s in ("SELECT", "INSERT", "UPDATE", "WITH")]) <= 12
    if store.engine.dialect.name == "postgresql":
        # taken first as unseen, in one INSERT: a unique key refuses it (the retry, Mario's
        # email), and nothing of it is written; then one look-up, one INSERT (pg_take.py)
        assert [s for s in statements if s in ("SELECT", "INSERT", "WITH")] == [
            "WITH",
            "SELECT",
            "WITH",
        ], statements


async def test_a_contact_alone_is_taken_the_same_way(store: Store) -> None:
    """A unit alone in its batch is a run of one: on PostgreSQL one INSERT (as unseen)."""
    with journal_statements(store) as statements:
        taken = await take(store, "m1", LUCIA, MARIO_PHONE)
    assert taken.created and taken.customer is not None and taken.customer.created
    assert await count(store, IDENTITIES) == 2
    if store.engine.dialect.name == "postgresql":
        assert statements == ["WITH"], statements
    again = await take(store, "m1", LUCIA)  # a retry of it: nothing written
    assert not again.created and again.contact_id == taken.contact_id
    assert await count(store, CONTACTS) == 1 and await count(store, CUSTOMERS) == 1


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)  # its intake lane
async def test_postgresql_takes_a_run_as_unseen_until_one_was_not(store: Store) -> None:
    """A run is taken first as if nothing of it were stored (one INSERT); one that was
    (here a returning customer's email) costs a refused INSERT, a look-up and the INSERT,
    and the runs after it look up first, until ``Guesses.PAUSE`` of them did."""
    first = await take(store, "m0", MARIO)
    with journal_statements(store) as statements:
        again = await take(store, "m1", MARIO)  # Mario returns: his email is stored
    assert statements == ["WITH", "SELECT", "WITH"], statements
    assert first.customer is not None and again.customer is not None
    assert again.customer.customer_id == first.customer.customer_id and again.customer.known
    for n in range(Guesses.PAUSE):
        with journal_statements(store) as statements:
            assert (await take(store, f"p{n}", email_identity(f"p{n}@example.it"))).created
        assert statements == ["SELECT", "WITH"], (n, statements)
    with journal_statements(store) as statements:
        assert (await take(store, "m2", LUCIA)).created
    assert statements == ["WITH"], statements
    assert await count(store, CUSTOMERS) == 2 + Guesses.PAUSE
    assert await count(store, CONTACTS) == 3 + Guesses.PAUSE


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)  # its intake lane
async def test_postgresql_takes_new_contacts_without_begin_or_commit_fenced_or_not(
    store: Store,
) -> None:
    """On PostgreSQL a batch of new contacts is one INSERT (as unseen), which commits by
    itself: no BEGIN and no COMMIT (two round trips fewer). A router that holds the fence
    takes them the same way, the fence's check a part of the INSERT (its lock held until
    the statement commits), where a transaction took four round trips."""
    with journal_statements(store) as statements, left_in_transaction(store) as left:
        taken = await take(store, "m1", LUCIA)
    assert taken.created and statements == ["WITH"]
    assert left == [False]
    await store.claim_fence("default", 1)
    with journal_statements(store) as statements, left_in_transaction(store) as left:
        taken = await take(store, "m2", MARIO)
    assert taken.created and statements == ["WITH"]
    assert left == [False]
    with journal_statements(store) as statements, left_in_transaction(store) as left:
        taken = await take(store, "m3", MARIO)  # Mario's email is stored: a look-up first
    assert taken.created and statements == ["WITH", "SELECT", "WITH"]
    assert left == [False, False]  # (the first, refused by a unique key, is not told)
    assert await count(store, CONTACTS) == 3


async def test_a_batch_stores_every_column_as_given(store: Store) -> None:
    """What a run taken together writes reads back as given: JSON, floats, NULLs, booleans
    (PostgreSQL passes every column as an array, router/store/pg_take.py)."""
    given = received("m1") | {
        "attributes": {"order": "A-1", "nested": {"n": 2, "ok": True}, "none": None},
        "subject": "Bolletta è sbagliata",
        "text": "Ciao 👋, la bolletta di marzo è doppia",
        "urgency": 0.125,
        "history_boost": 3,
        "transfers": 2,
        "excluded_agents": ["anna", "bruno"],
        "resolved": False,
        "answered_at": None,
        "language": None,
    }
    await asyncio.gather(
        store.received.take(given, (LUCIA,), "Lucia", 2.5),
        store.received.take(received("m2"), (MARIO,), "", 1.0),
    )
    async with store.engine.connect() as connection:
        row = (await connection.execute(select(CONTACTS).where(CONTACTS.c.id == "c-m1"))).one()
        customer = (await connection.execute(select(CUSTOMERS))).all()
        identity = (await connection.execute(select(IDENTITIES))).all()
    stored = row._asdict()
    for name in ("attributes", "subject", "text", "urgency", "transfers", "excluded_agents"):
        assert stored[name] == given[name], name
    assert stored["history_boost"] == 3.0 and stored["resolved"] is False
    assert stored["answered_at"] is None and stored["language"] is None
    assert stored["policy"] == given["policy"] and stored["arrival"] == 1.0
    assert stored["triage"][RECEIVED]["known_customer"] is False
    assert {(c.name, c.created_at, c.merged_into) for c in customer} == {
        ("Lucia", 2.5, None),
        ("", 1.0, None),
    }
    owners = {i.value: i.customer_id for i in identity}
    assert owners["lucia@example.it"] == stored["customer_id"]


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


async def threads(store: Store) -> dict[str, str]:
    """Each thread key -> its contact."""
    async with store.engine.connect() as connection:
        rows = await connection.execute(select(THREADS.c.key, THREADS.c.contact_id))
        return {key: contact_id for key, contact_id in rows}


async def test_thread_keys_are_stored_with_their_contacts(store: Store) -> None:
    """A contact's thread keys (a chat session, an email's Message-ID) are written in its
    own unit, by a run taken together (on PostgreSQL within its one statement), by a run
    taken one by one (linking customers), and a key given twice points at the newest."""
    await store.received.take(received("m0"), (MARIO,), "", 1.0, ("chat-0",))
    with journal_statements(store) as statements:
        first, second, third = await asyncio.gather(
            store.received.take(received("m1"), (LUCIA,), "", 2.0, ("chat-1", "shared")),
            store.received.take(received("m2"), (), "", 2.0, ("shared", "shared")),
            store.received.take(received("m3"), (), "", 2.0),
        )
    assert first.created and second.created and third.created
    if store.engine.dialect.name == "postgresql":
        assert statements == ["WITH"], statements  # the keys went in the run's one INSERT
    assert await threads(store) == {"chat-0": "c-m0", "chat-1": "c-m1", "shared": "c-m2"}
    phone = await take(store, "m4", MARIO_PHONE)
    assert phone.customer is not None
    both = await store.received.take(received("m5"), (MARIO, MARIO_PHONE), "", 3.0, ("chat-5",))
    assert both.customer is not None and both.customer.merged  # taken the linking way
    again = await store.received.take(received("m5"), (), "", 4.0, ("chat-x",))  # a retry
    assert not again.created
    assert (await threads(store))["chat-5"] == "c-m5" and "chat-x" not in await threads(store)


async def test_a_thread_key_longer_than_the_column_does_not_refuse_its_contact(
    store: Store,
) -> None:
    """An email may name any id in its headers: a key the threads table cannot hold is
    left out, where PostgreSQL would refuse the contact's whole unit for it."""
    long_key = "<" + "x" * 500 + "@example.it>"
    taken = await store.received.take(received("m1"), (), "", 1.0, (long_key, "<ok@example.it>"))
    assert taken.created
    assert await threads(store) == {"<ok@example.it>": "c-m1"}
