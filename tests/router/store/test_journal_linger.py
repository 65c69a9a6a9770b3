"""The journal's linger on real SQLite and PostgreSQL: a batch of routing decisions waits
for more until its first unit is ``linger`` old, and never holds up a new contact, a unit
someone waits for, a full batch, a drain or a close. Each test sets a linger far longer
than the test, so what ends the wait is the event under test, not the clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router.decisions import Assigned, Queued
from router.recorder import Recorder
from router.store.journal import JournalError
from router.store.journal_lanes import LINGER
from router.store.repository import Store
from tests.databases import database
from tests.router.store.test_journal import add_customer, stored_ids
from tests.router.store.test_store import row

LONG = 600.0  # s: longer than any test; only the events under test end the wait
BOUND = 60.0  # s: keeps a regression from hanging the suite, never reached when it works


async def loop_turns(count: int = 50) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_decisions_made_while_the_batch_lingers_share_its_commit(store: Store) -> None:
    journal = store.journal
    journal.linger, journal.max_batch = LONG, 3
    before = journal.stats.batches
    first = journal.submit(add_customer("d0"), bounded=False)
    await loop_turns()  # the journal's task ran and waits: nothing was committed
    assert journal._main.lingering and not first.done() and journal.stats.batches == before
    rest = [journal.submit(add_customer(f"d{i}"), bounded=False) for i in (1, 2)]
    # the third fills the batch: it goes at once, all three in one commit
    assert await asyncio.wait_for(asyncio.gather(first, *rest), BOUND) == ["d0", "d1", "d2"]
    assert journal.stats.batches - before == 1
    assert await stored_ids(store) == {"d0", "d1", "d2"}


async def test_a_new_contact_never_waits_for_the_linger(store: Store) -> None:
    journal = store.journal
    journal.linger = LONG
    decision = journal.submit(add_customer("decided"), bounded=False)
    await loop_turns()
    assert journal._main.lingering
    new = journal.submit(add_customer("new"), ahead=True)  # as admit does, less its hurry
    assert await asyncio.wait_for(new, BOUND) == "new"
    if store.engine.dialect.name == "sqlite":
        # one lane: the new contact's batch takes the lingering decision along
        assert await asyncio.wait_for(decision, BOUND) == "decided"
    else:
        # a lane of its own: the decisions' batch lingers on
        assert journal._main.lingering and not decision.done()
        await asyncio.wait_for(journal.drain(), BOUND)
        assert decision.result() == "decided"
    assert await stored_ids(store) == {"new", "decided"}


async def test_units_that_already_waited_do_not_linger_again(store: Store) -> None:
    """The linger counts from a unit's submission: one that waited its time in the queue
    (behind a busy lane; here, aged by hand before the lane's task first sees it) goes
    at once."""
    journal = store.journal
    journal.linger = LONG
    waited = journal.submit(add_customer("waited"), bounded=False)
    journal._main.queue[-1].submitted -= 2 * LONG  # nothing awaited since the submit
    assert await asyncio.wait_for(waited, BOUND) == "waited"


async def test_a_drain_ends_the_linger(store: Store) -> None:
    journal = store.journal
    journal.linger = LONG
    decision = journal.submit(add_customer("drained"), bounded=False)
    await loop_turns()
    await asyncio.wait_for(journal.drain(), BOUND)
    assert decision.result() == "drained"
    # and the journal lingers again afterwards
    later = journal.submit(add_customer("later"), bounded=False)
    await loop_turns()
    assert journal._main.lingering and not later.done()
    await asyncio.wait_for(journal.drain(), BOUND)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_closing_commits_what_lingers(kind: str, tmp_path: Path) -> None:
    async with database(kind, tmp_path) as url:
        store = await Store.open(url, linger=LONG)
        decision = store.journal.submit(add_customer("kept"), bounded=False)
        await loop_turns()
        await asyncio.wait_for(store.close(), BOUND)
        assert decision.result() == "kept"
        reopened = await Store.open(url)
        try:
            assert await stored_ids(reopened) == {"kept"}
        finally:
            await reopened.close()


async def test_a_unit_someone_waits_for_does_not_linger(store: Store) -> None:
    """``Store.commit`` (a message, a link, a login) is awaited at once: its batch goes
    now, taking along the decisions lingering before it."""
    journal = store.journal
    journal.linger = LONG
    decision = journal.submit(add_customer("decided"), bounded=False)
    await loop_turns()
    assert await asyncio.wait_for(store.commit(add_customer("awaited")), BOUND) == "awaited"
    assert decision.result() == "decided"


async def test_hurry_ends_the_linger_of_what_is_queued(store: Store) -> None:
    journal = store.journal
    journal.linger = LONG
    decision = journal.submit(add_customer("hurried"), bounded=False)
    await loop_turns()
    journal.hurry()
    assert await asyncio.wait_for(decision, BOUND) == "hurried"
    later = journal.submit(add_customer("later"), bounded=False)  # lingers again
    await loop_turns()
    assert journal._main.lingering and not later.done()
    await asyncio.wait_for(journal.drain(), BOUND)


async def test_the_recorder_lets_only_an_ack_wait_for_the_linger(store: Store) -> None:
    """``reached`` hurries the batch (a 202 waiting for a returning customer's history),
    but not with ``linger=True`` (a desktop's ack)."""
    await store.add_contact(row("c1", "m1"))
    store.journal.linger = LONG
    recorder = Recorder(store)
    recorder.record(1.0, [Queued("c1", "billing", "arrival", {})])
    acked = asyncio.ensure_future(recorder.reached(recorder.mark, linger=True))
    await loop_turns()
    assert store.journal._main.lingering and not acked.done()
    assert await asyncio.wait_for(recorder.reached(recorder.mark), BOUND) is True
    assert await asyncio.wait_for(acked, BOUND) is True
    recorder.record(2.0, [Assigned("c1", "anna", "o-1", 1.0)])
    await asyncio.wait_for(recorder.stop(), BOUND)  # stopping waits, and hurries
    stored = await store.contact("c1")
    assert stored is not None and stored.state == "assigned"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_stopping_commits_what_comes_in_meanwhile_and_refuses_what_comes_after(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as url:
        store = await Store.open(url, linger=LONG)
        journal = store.journal
        first = journal.submit(add_customer("first"), bounded=False)
        await loop_turns()
        closing = asyncio.ensure_future(store.close())

        async def committing() -> None:  # stop hurried the lingering batch
            while not journal._main.committing:
                await asyncio.sleep(0)

        await asyncio.wait_for(committing(), BOUND)
        late = journal.submit(add_customer("late"), bounded=False)  # behind it, lingering
        await asyncio.wait_for(closing, BOUND)
        assert (first.result(), late.result()) == ("first", "late")
        after = journal.submit(add_customer("after"), bounded=False)
        assert isinstance(after.exception(), JournalError)
        reopened = await Store.open(url)
        try:
            assert await stored_ids(reopened) == {"first", "late"}
        finally:
            await reopened.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_linger_is_on_for_sqlite_and_off_for_postgresql_unless_set(
    kind: str, tmp_path: Path
) -> None:
    async with database(kind, tmp_path) as url:
        store = await Store.open(url)
        try:
            assert store.journal.linger == (LINGER if kind == "sqlite" else 0.0)
        finally:
            await store.close()
        store = await Store.open(url, linger=0.25)
        try:
            assert store.journal.linger == 0.25
        finally:
            await store.close()


async def test_the_recorder_tells_which_marks_are_written(store: Store) -> None:
    """``written(mark)``: nothing up to ``mark`` is still pending; ``reached`` of a mark
    older than every pending unit answers at once, without hurrying what lingers."""
    await store.add_contact(row("c1", "m1"))
    await store.add_contact(row("c2", "m2"))
    recorder = Recorder(store)
    recorder.record(1.0, [Queued("c1", "billing", "arrival", {})])  # mark 1
    assert await asyncio.wait_for(recorder.reached(1), BOUND) is True
    store.journal.linger = LONG
    recorder.record(2.0, [Queued("c2", "billing", "arrival", {})])  # mark 2, lingering
    await loop_turns()
    assert recorder.written(0) and recorder.written(1)
    assert not recorder.written(2) and not recorder.written(3)
    assert await asyncio.wait_for(recorder.reached(1), BOUND) is True
    assert store.journal._main.lingering  # not hurried: nothing of mark 1 was pending
    assert await asyncio.wait_for(recorder.reached(2), BOUND) is True
    assert recorder.written(2)
