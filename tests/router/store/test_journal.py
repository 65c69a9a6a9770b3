"""The journal (group commit) on real SQLite and PostgreSQL: units committed together,
waiters answered only after the commit, one bad unit answered alone, a bounded queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.errors import StoreBusy, StoreError
from router.store.journal import JournalFull
from router.store.pg_connection import NeedsTransaction
from router.store.pg_fence import FenceCheck
from router.store.repository import Store
from router.store.schema import CustomerRow
from router.store.sqlite import sqlite_writer
from skills.identity import email_identity, phone_identity
from tests.databases import database, driver_transactions
from tests.engine_helpers import policy

CUSTOMERS = CustomerRow.__table__


def add_customer(customer_id: str) -> Callable[[Connection], str]:
    def work(connection: Connection) -> str:
        connection.execute(insert(CUSTOMERS).values(id=customer_id, name="", created_at=1.0))
        return customer_id

    return work


def noted(name: str, ran: list[str]) -> Callable[[Connection], str]:
    """Work that notes in ``ran`` that it ran, and returns its name."""

    def work(_connection: Connection) -> str:
        ran.append(name)
        return name

    return work


def behind_the_lock(ran: list[str], name: str = "contact") -> Callable[[Connection], str]:
    """Work that waits for the lock ``customer_locked`` holds, then notes that it ran."""

    def work(connection: Connection) -> str:
        connection.execute(text("UPDATE customers SET name = 'x' WHERE id = 'locked'"))
        return noted(name, ran)(connection)

    return work


@asynccontextmanager
async def customer_locked(store: Store) -> AsyncIterator[AsyncConnection]:
    """Another connection holding the row lock of a customer "locked" (made here) until it
    rolls back or closes."""
    await store.commit(add_customer("locked"))
    async with store.engine.connect() as other:
        await other.execute(text("SELECT 1 FROM customers WHERE id = 'locked' FOR UPDATE"))
        yield other


async def stored_ids(store: Store) -> set[str]:
    async with store.engine.connect() as connection:
        return set((await connection.execute(select(CUSTOMERS.c.id))).scalars())


async def test_units_submitted_together_commit_in_one_batch(store: Store) -> None:
    before = store.journal.stats.batches
    results = await asyncio.gather(*(store.commit(add_customer(f"c{i}")) for i in range(50)))
    assert results == [f"c{i}" for i in range(50)]
    assert await stored_ids(store) == {f"c{i}" for i in range(50)}
    # submitted in one go, they are committed in far fewer transactions than units
    assert store.journal.stats.batches - before < 10
    assert store.journal.stats.units >= 50


async def test_a_waiter_is_answered_only_after_its_commit_is_visible(store: Store) -> None:
    seen: list[bool] = []

    async def commit_then_look(customer_id: str) -> None:
        await store.commit(add_customer(customer_id))
        seen.append(customer_id in await stored_ids(store))  # another connection reads it

    await asyncio.gather(*(commit_then_look(f"v{i}") for i in range(10)))
    assert seen == [True] * 10


async def test_one_bad_unit_is_answered_alone_and_its_batch_still_commits(store: Store) -> None:
    await store.commit(add_customer("dup"))
    outcomes = await asyncio.gather(
        store.commit(add_customer("a")),
        store.commit(add_customer("dup")),  # primary key taken: this unit alone fails
        store.commit(add_customer("b")),
        return_exceptions=True,
    )
    assert outcomes[0] == "a" and outcomes[2] == "b"
    assert isinstance(outcomes[1], StoreError)
    assert await stored_ids(store) == {"dup", "a", "b"}
    assert store.journal.stats.failed_units >= 1


async def test_a_full_queue_refuses_at_once_and_loses_nothing_it_accepted(store: Store) -> None:
    journal = store.journal
    journal.max_pending = 5
    accepted = [journal.submit(add_customer(f"q{i}")) for i in range(5)]
    with pytest.raises(JournalFull):
        journal.submit(add_customer("q-over"))
    with pytest.raises(StoreBusy):
        await store.commit(add_customer("q-over"))
    # decisions already made are never refused
    journal.submit(add_customer("decided"), bounded=False)
    await asyncio.gather(*accepted)
    await journal.drain()
    assert await stored_ids(store) == {*(f"q{i}" for i in range(5)), "decided"}


async def test_a_fenced_out_store_commits_nothing(store: Store) -> None:
    await store.claim_fence("default", 1)
    await store.commit(add_customer("before"))
    async with store.engine.begin() as connection:  # a successor claims a newer epoch
        await connection.execute(text("UPDATE router_fence SET epoch = 2"))
    with pytest.raises(StoreError, match="fenced out"):
        await store.commit(add_customer("after"))
    assert await stored_ids(store) == {"before"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_two_nodes_racing_on_one_message_and_one_new_customer_make_one_of_each(
    kind: str, tmp_path: Path
) -> None:
    """Two processes' stores on one database (as two nodes): the same gateway message and
    the same new customer at once. The unique constraints decide, not any cache."""
    async with database(kind, tmp_path) as url:
        first, second = await Store.open(url), await Store.open(url)
        try:
            who = [email_identity("nuova@example.it"), phone_identity("+39 347 555 0101", "IT")]
            customers = await asyncio.gather(
                *(s.customers.resolve(who, "Nuova", 1.0) for s in (first, second, first, second))
            )
            assert len({c.customer_id for c in customers}) == 1
            customer_id = customers[0].customer_id
            contacts = await asyncio.gather(
                *(
                    s.add_contact(contact_row(f"c{i}", "same-message", customer_id))
                    for i, s in enumerate((first, second, first, second))
                )
            )
            assert sum(created for _row, created in contacts) == 1
            assert len({row.id for row, _created in contacts}) == 1
            async with first.engine.connect() as connection:
                counted = await connection.execute(
                    text("select count(*) from customers where merged_into is null")
                )
                assert counted.scalar_one() == 1
        finally:
            await first.close()
            await second.close()


def contact_row(contact_id: str, message_id: str, customer_id: str) -> dict[str, object]:
    return {
        "id": contact_id,
        "gateway": "gw",
        "external_id": message_id,
        "channel": "chat",
        "customer_id": customer_id,
        "queue": "billing",
        "rule": "billing",
        "policy": policy("billing").to_dict(),
        "state": "queued",
        "arrival": 1.0,
        "updated_at": 1.0,
    }


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_closing_waits_for_the_batch_being_committed(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as url:
        store = await Store.open(url)
        store.journal.max_batch = 20
        futures = [store.journal.submit(add_customer(f"s{i}")) for i in range(100)]
        while not store.journal._committing:  # a batch is on its way to the database
            await asyncio.sleep(0)
        await store.close()
        assert all(f.done() and not f.cancelled() for f in futures)
        assert [f.result() for f in futures] == [f"s{i}" for i in range(100)]
        reopened = await Store.open(url)
        try:
            assert await stored_ids(reopened) == {f"s{i}" for i in range(100)}
        finally:
            await reopened.close()


async def test_a_unit_submitted_ahead_runs_before_queued_decisions(store: Store) -> None:
    """A new contact (``admit``) does not wait behind a burst of routing decisions queued
    before it; units submitted ahead keep their own order."""
    ran: list[str] = []

    # queued while the journal's task cannot run (nothing awaited in between)
    decisions = [store.journal.submit(noted(f"d{i}", ran), bounded=False) for i in range(3)]
    first = store.journal.submit(noted("contact-1", ran), ahead=True)
    decisions.append(store.journal.submit(noted("d3", ran), bounded=False))
    second = store.journal.submit(noted("contact-2", ran), ahead=True)
    await asyncio.gather(*decisions, first, second)
    if store.engine.dialect.name == "sqlite":  # one lane: the units ahead first
        assert ran == ["contact-1", "contact-2", "d0", "d1", "d2", "d3"]
    else:  # a lane of their own: a decision waits only for the contacts submitted before it
        assert [name for name in ran if name.startswith("d")] == ["d0", "d1", "d2", "d3"]
        assert ran.index("contact-1") < min(ran.index("contact-2"), ran.index("d3"))


async def test_each_commit_is_reported_with_its_time_size_and_lane(store: Store) -> None:
    """/metrics reads the commits by lane: on PostgreSQL new contacts (``admit``) are the
    intake lane's and everything else the decisions'; SQLite has one lane for all."""
    seen: list[tuple[float, int, str]] = []
    store.journal.stats.observe = lambda seconds, size, lane: seen.append((seconds, size, lane))
    await store.admit(add_customer("admitted"))
    await store.commit(add_customer("decided"))
    lanes = [lane for _seconds, _size, lane in seen]
    if store.engine.dialect.name == "sqlite":
        assert lanes == ["all", "all"]
    else:
        assert lanes == ["intake", "decisions"]
    assert all(seconds > 0 and size == 1 for seconds, size, _lane in seen)


async def test_sqlite_journal_waits_for_a_write_lock_held_elsewhere_without_holding_the_loop(
    tmp_path: Path,
) -> None:
    """A write outside the journal (another connection of the store, as feedback and
    follow-ups are written) holds SQLite's write lock across an await: the journal's batch
    runs on the loop, so it must wait for the lock without blocking the loop, which the
    holder needs to finish."""
    async with database("sqlite", tmp_path) as url:
        store = await Store.open(url)
        try:
            async with store.engine.connect() as other:
                await other.execute(insert(CUSTOMERS).values(id="other", name="", created_at=1.0))
                unit = asyncio.ensure_future(store.commit(add_customer("journal")))
                while store.journal.stats.lock_waits == 0:  # tried, found the lock held
                    await asyncio.sleep(0.001)
                assert not unit.done()
                await other.commit()  # needs the loop
            assert await unit == "journal"
            assert await stored_ids(store) == {"other", "journal"}
        finally:
            await store.close()
        # SQLite's own wait (a busy timeout) would hold the loop for its whole length
        writer = sqlite_writer(make_url(url), json_serializer=json.dumps)
        try:
            with writer.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0
        finally:
            writer.dispose()


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_commits_a_new_contact_while_a_decision_batch_waits(store: Store) -> None:
    """On PostgreSQL new contacts (``admit``) have a lane and a connection of their own: a
    routing decision stuck on a row lock does not hold up the next 202."""
    async with customer_locked(store) as other:
        decide = behind_the_lock([], "decision")
        decision = store.journal.submit(decide, bounded=False)
        while not store.journal._committing:  # the decision's batch is under way
            await asyncio.sleep(0)
        # (the bound only keeps a regression from hanging the suite)
        assert await asyncio.wait_for(store.admit(add_customer("new")), 60) == "new"
        assert "new" in await stored_ids(store)
        assert not decision.done()
        await other.rollback()  # lets the decision go on
    await decision


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_decisions_commit_only_after_the_new_contacts_before_them(
    store: Store,
) -> None:
    """A decision made about a new contact is written after that contact is committed,
    though the two go through different lanes."""
    store.journal.linger = 0.0  # a lingering batch would hold the decision anyway
    ran: list[str] = []
    async with customer_locked(store) as other:
        contact = store.journal.submit(behind_the_lock(ran), ahead=True)
        decision = store.journal.submit(noted("decision", ran), bounded=False)
        while not store.journal._committing:  # the contact's batch is under way
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        assert ran == [] and not decision.done()
        await other.rollback()
    assert await asyncio.gather(contact, decision) == ["contact", "decision"]
    assert ran == ["contact", "decision"]


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_decisions_do_not_wait_for_new_contacts_submitted_after_them(
    store: Store,
) -> None:
    """A batch of decisions waits only for the new contacts submitted before its units:
    one submitted after them, stuck on a lock here, does not hold the decisions up."""
    async with customer_locked(store) as other:
        decision = store.journal.submit(add_customer("decided"), bounded=False)
        # after the decision
        contact = store.journal.submit(behind_the_lock([]), ahead=True)
        # (the bound only keeps a regression from hanging the suite)
        assert await asyncio.wait_for(decision, 60) == "decided"
        assert "decided" in await stored_ids(store)
        assert not contact.done()
        await other.rollback()  # lets the contact go on
    assert await contact == "contact"


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_a_batch_of_decisions_stops_before_one_whose_contact_waits(
    store: Store,
) -> None:
    """Of two queued decisions, the one made before a new contact commits at once; the one
    made after it waits for that contact, though both were queued together."""
    store.journal.linger = 0.0  # a lingering batch would hold the decision anyway
    ran: list[str] = []
    async with customer_locked(store) as other:
        before = store.journal.submit(noted("before", ran), bounded=False)
        contact = store.journal.submit(behind_the_lock(ran), ahead=True)
        after = store.journal.submit(noted("after", ran), bounded=False)
        # (the bound only keeps a regression from hanging the suite)
        assert await asyncio.wait_for(before, 60) == "before"
        for _ in range(20):
            await asyncio.sleep(0)
        assert ran == ["before"] and not after.done()
        await other.rollback()
    assert await asyncio.gather(contact, after) == ["contact", "after"]
    assert ran == ["before", "contact", "after"]


async def test_a_fenced_out_store_admits_no_new_contact_either(store: Store) -> None:
    await store.claim_fence("default", 1)
    assert await store.admit(add_customer("before")) == "before"
    async with store.engine.begin() as connection:  # a successor claims a newer epoch
        await connection.execute(text("UPDATE router_fence SET epoch = 2"))
    with pytest.raises(StoreError, match="fenced out"):
        await store.admit(add_customer("after"))
    assert await stored_ids(store) == {"before"}


def backend_pid(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_lanes_keep_their_connection_from_batch_to_batch(store: Store) -> None:
    """Each lane holds one connection (no checkout from the pool per batch): the same
    server backend answers every batch of a lane, and the two lanes are two backends."""
    decisions = [await store.commit(backend_pid) for _ in range(5)]
    contacts = [await store.admit(backend_pid) for _ in range(5)]
    assert len(set(decisions)) == 1
    assert len(set(contacts)) == 1
    assert decisions[0] != contacts[0]


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_a_lane_whose_connection_the_server_closed_commits_on_a_new_one(
    store: Store,
) -> None:
    """A kept connection can die between batches (the server restarted, an idle timeout,
    an administrator): the next batch is retried on a new connection and loses nothing."""
    old = {await store.commit(backend_pid), await store.admit(backend_pid)}
    async with store.engine.connect() as admin:
        for pid in old:
            await admin.execute(text(f"SELECT pg_terminate_backend({pid})"))
    results = await asyncio.gather(
        store.commit(add_customer("after-decisions")),
        store.admit(add_customer("after-contacts")),
    )
    assert results == ["after-decisions", "after-contacts"]
    assert {"after-decisions", "after-contacts"} <= await stored_ids(store)
    new = {await store.commit(backend_pid), await store.admit(backend_pid)}
    assert not new & old


@dataclass(frozen=True)
class CustomerOnce:
    """A new customer, a run of which is one INSERT (``WritesOnce``); ``linking``: this
    one needs a transaction, as a contact that links two customers does."""

    customer_id: str
    linking: bool = False

    def __call__(self, connection: Connection) -> str:  # in a transaction: two statements
        connection.execute(text("SELECT 1"))
        return add_customer(self.customer_id)(connection)

    @staticmethod
    def write_once(
        connection: Connection, works: Sequence[CustomerOnce], fence: FenceCheck | None
    ) -> list[str]:
        if fence is not None or any(work.linking for work in works):  # (no fence check)
            raise NeedsTransaction("linking")
        rows = [{"id": work.customer_id, "name": "", "created_at": 1.0} for work in works]
        connection.execute(insert(CUSTOMERS), rows)
        return [work.customer_id for work in works]


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_postgresql_intake_lane_writes_once_outside_a_transaction_or_else_inside(
    store: Store,
) -> None:
    """A batch of one-write units on the intake lane runs without a transaction; one that
    asks for a transaction runs again in one, and a unit whose write fails is answered
    alone while the rest commit."""
    with driver_transactions(store) as inside:
        assert await store.admit(CustomerOnce("a")) == "a"
    assert inside == [False]
    with driver_transactions(store) as inside:
        results = await asyncio.gather(
            store.admit(CustomerOnce("b")), store.admit(CustomerOnce("c", linking=True))
        )
    assert results == ["b", "c"]
    assert True in inside  # the batch again, in a transaction (BEGIN sent)
    results = await asyncio.gather(
        store.admit(CustomerOnce("d")),
        store.admit(CustomerOnce("a")),  # stored before: a unique key fails it
        store.admit(CustomerOnce("e")),
        return_exceptions=True,
    )
    assert results[0] == "d" and results[2] == "e"
    assert isinstance(results[1], StoreError)
    assert await stored_ids(store) == {"a", "b", "c", "d", "e"}
