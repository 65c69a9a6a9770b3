"""The router fence inside a journal batch's one statement (router/store/pg_fence.py), on a
real PostgreSQL: once a successor holds the fence, a batch of routing decisions and one of
new contacts write nothing and fail as fenced out; a successor's claim in progress holds
such a batch back (its lock is taken in the statement) until the batch finds itself
fenced out; and the statement's checks fail nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, text

from router.store.changes import CONTACTS, EVENTS, ContactUpdate, EventInsert, PlanConflict
from router.store.customers import CUSTOMERS
from router.store.errors import FencedOut
from router.store.pg_changes import write_rows
from router.store.pg_fence import FenceCheck, checked
from router.store.repository import Store
from router.store.thread_links import THREADS
from tests.databases import contact_row, journal_statements, left_in_transaction
from tests.receivers import until
from tests.router.store.test_change_batch import plan
from tests.router.store.test_take_batch import MARIO, received, take

pytestmark = pytest.mark.parametrize("store", ["postgresql"], indirect=True)

DECISIONS = [
    ContactUpdate("c1", {"state": "offered", "agent_id": "anna", "updated_at": 2.0}),
    EventInsert("c1", 2.0, "offered", {"agent": "anna"}),
]


async def decide(store: Store) -> Any:
    """A batch of routing decisions (the journal's main lane)."""
    return await store.apply(DECISIONS)


async def take_in(store: Store) -> Any:
    """A batch of one new contact and its new customer (PostgreSQL's intake lane)."""
    return await take(store, "m1", MARIO)


async def take_in_thread(store: Store) -> Any:
    """The same with a thread key pointed at it (a chat, an email: the INSERT's WITH then
    upserts the key too, router/store/pg_take.py)."""
    return await store.received.take(received("m1"), (MARIO,), "", 1.0, ("thread-1",))


BATCHES = pytest.mark.parametrize(
    "batch",
    [decide, take_in, take_in_thread],
    ids=["decisions", "new contact", "new contact in a thread"],
)
Batch = Callable[[Store], Awaitable[Any]]


async def written(store: Store) -> dict[str, Any]:
    """What the batches above leave: c1's state, the events, the contacts, the customers."""
    async with store.engine.connect() as connection:
        state = await connection.scalar(select(CONTACTS.c.state).where(CONTACTS.c.id == "c1"))
        counts = [
            await connection.scalar(select(func.count()).select_from(table))
            for table in (EVENTS, CONTACTS, CUSTOMERS, THREADS)
        ]
    return {"c1": state} | dict(
        zip(("events", "contacts", "customers", "threads"), counts, strict=True)
    )


BEFORE = {"c1": "queued", "events": 0, "contacts": 1, "customers": 0, "threads": 0}


async def successor_claims(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(text("UPDATE router_fence SET epoch = 2"))


@BATCHES
async def test_a_fenced_batch_is_one_statement_in_autocommit(store: Store, batch: Batch) -> None:
    await store.add_contact(contact_row("c1"), None)
    await store.claim_fence("default", 1)
    with journal_statements(store) as statements, left_in_transaction(store) as left:
        await batch(store)
    assert statements == ["WITH"] and left == [False]
    after = await written(store)
    assert after != BEFORE
    if batch is take_in_thread:
        assert after["threads"] == 1


@BATCHES
async def test_a_batch_fenced_out_writes_nothing(store: Store, batch: Batch) -> None:
    await store.add_contact(contact_row("c1"), None)
    await store.claim_fence("default", 1)
    await successor_claims(store)
    with pytest.raises(FencedOut, match="fenced out"):
        await batch(store)
    assert await written(store) == BEFORE


async def waiting_for_a_lock(store: Store) -> bool:
    async with store.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@BATCHES
async def test_a_claim_in_progress_holds_the_batch_back_and_then_fences_it_out(
    store: Store, batch: Batch
) -> None:
    """A successor locks the fence's row to claim it: the batch's statement waits for that
    lock (it takes it, not only reads the epoch), and once the successor commits its
    epoch the batch fails whole."""
    await store.add_contact(contact_row("c1"), None)
    await store.claim_fence("default", 1)
    async with store.engine.connect() as claim:
        await claim.execute(text("SELECT epoch FROM router_fence FOR UPDATE"))
        running = asyncio.ensure_future(batch(store))
        await until(lambda: waiting_for_a_lock(store), what="the batch waiting for the fence")
        assert not running.done()
        await claim.execute(text("UPDATE router_fence SET epoch = 2"))
        await claim.commit()
    with pytest.raises(FencedOut):
        await running
    assert await written(store) == BEFORE


async def test_the_statement_fails_as_the_store_s_own_errors_fence_first(store: Store) -> None:
    """The statement's own failures reach the journal as the store's errors: a plan whose
    contact is no longer ``received`` as ``PlanConflict``, the fence lost as
    ``FencedOut`` (also when a plan is refused too), nothing written either way."""
    await store.add_contact(contact_row("c1"), None)  # queued: its plan is refused
    await store.claim_fence("default", 1)
    event = {"contact_id": "c1", "at": 2.0, "kind": "queued", "detail": {}}
    batch = ((), (), [event], ()), {}, {}, [plan("c1")], FenceCheck("default", 1)
    async with store.engine.connect() as connection:
        with pytest.raises(PlanConflict):
            await connection.run_sync(write_rows, *batch)
    await successor_claims(store)
    async with store.engine.connect() as connection:
        with pytest.raises(FencedOut):
            await connection.run_sync(write_rows, *batch)
    assert await written(store) == BEFORE


async def test_the_check_is_not_folded_into_a_failure_when_it_holds(store: Store) -> None:
    """The check casts its CASE whole: a cast of the failure's text inside a branch would
    be a constant, which PostgreSQL evaluates while planning, failing every statement."""
    holds = f"SELECT {checked([('1 = (SELECT 2)', 'centralino: a failure')])}"
    fails = f"SELECT {checked([('1 = (SELECT 1)', 'centralino: a failure')])}"
    async with store.engine.connect() as connection:
        assert await connection.scalar(text(holds)) == 0
        with pytest.raises(Exception, match="centralino: a failure"):
            await connection.scalar(text(fails))
