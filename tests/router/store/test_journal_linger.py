"""The journal's linger on real SQLite and PostgreSQL: a batch of routing decisions waits
for more until its first unit is ``linger`` old, and never holds up a new contact, a full
batch, a drain or a close. Each test sets a linger far longer than the test, so what ends
the wait is the event under test, not the clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router.store.repository import Store
from tests.databases import database
from tests.router.store.test_journal import add_customer, stored_ids

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
    assert not first.done() and journal.stats.batches == before
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
    assert await asyncio.wait_for(store.admit(add_customer("new")), BOUND) == "new"
    if store.engine.dialect.name == "sqlite":
        # one lane: the new contact's batch takes the lingering decision along
        assert await asyncio.wait_for(decision, BOUND) == "decided"
    else:
        # a lane of its own: the decisions' batch lingers on
        await loop_turns()
        assert not decision.done()
        await asyncio.wait_for(journal.drain(), BOUND)
        assert decision.result() == "decided"
    assert await stored_ids(store) == {"new", "decided"}


async def test_units_that_already_waited_do_not_linger_again(store: Store) -> None:
    """What queued while the lane was busy (here: submitted long ago) goes at once."""
    journal = store.journal
    journal.linger = LONG
    first = journal.submit(add_customer("old"), bounded=False)
    await loop_turns()
    journal._main.queue[0].submitted -= 2 * LONG  # as if it had waited that long
    second = journal.submit(add_customer("new"), bounded=False)  # wakes the lane
    assert await asyncio.wait_for(asyncio.gather(first, second), BOUND) == ["old", "new"]


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
    assert not later.done()
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
