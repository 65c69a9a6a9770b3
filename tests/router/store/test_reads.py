"""A contact's conversation as the desktop reads it (router/store/reads.py ``messages``),
on real SQLite and real PostgreSQL: the messages after the first, oldest first, only
that contact's, the newest ``limit`` of them; on SQLite without a turn of the loop."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from router.store.errors import StoreError
from router.store.reads import ConversationLine
from router.store.repository import Store
from tests.router.store.test_prompt_reads import loop_turns
from tests.router.store.test_store import row


async def test_the_conversation_oldest_first_only_its_own(store: Store) -> None:
    await store.add_contact(row("c1", "m1"))
    await store.add_contact(row("c2", "m2"))
    await store.add_message("c1", 20.0, "message", "secondo", {})
    await store.add_message("c2", 21.0, "message", "altro contatto", {})
    await store.add_message("c1", 22.0, "transfer_note", "vuole lo storno", {})
    assert await store.messages("c1") == [
        ConversationLine(20.0, "message", "secondo"),
        ConversationLine(22.0, "transfer_note", "vuole lo storno"),
    ]
    assert await store.messages("nobody") == []


async def test_the_newest_within_the_limit(store: Store) -> None:
    await store.add_contact(row("c1", "m1"))
    for n in range(5):
        await store.add_message("c1", 10.0 + n, "message", f"m{n}", {})
    assert [line.text for line in await store.messages("c1", limit=3)] == ["m2", "m3", "m4"]


async def test_on_sqlite_a_conversation_is_read_without_a_turn_of_the_loop(store: Store) -> None:
    """SQLite's connections run their calls at once (router/store/sqlite_inline.py) and
    the read's connection goes back to the pool at once: reading gives the loop no turn
    (a session's read, closing in a task of its own, gave it one)."""
    if store.engine.dialect.name != "sqlite":
        return  # PostgreSQL's reads wait for the server
    await store.add_contact(row("c1", "m1"))
    await store.messages("c1")  # a first connection in the pool
    async with loop_turns() as turns:
        seen = turns[0]
        await store.messages("c1")
        assert turns[0] == seen


async def test_a_conversation_that_cannot_be_read_is_a_store_error(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE messages RENAME TO messages_gone"))
    with pytest.raises(StoreError):
        await store.messages("c1")


async def test_what_a_gateways_message_finds_before_its_intake(store: Store) -> None:
    """``inbound_lookup``: the contact its message id opened (a retried delivery), else the
    newest contact on any of its thread keys, read like a ``ContactRow``; ``thread_contact``
    the same for keys alone."""
    await store.add_contact(row("c1", "m1", arrival=100.0, triage={"language": "it"}))
    await store.add_contact(row("c2", "m2", arrival=200.0))
    await store.link_threads("gw", ["t-old", "shared"], "c1", 100.0)
    await store.link_threads("gw", ["t-new"], "c2", 200.0)
    retried = await store.inbound_lookup("gw", "m1", ["t-new"])
    assert retried.opened.id == "c1" and retried.on_thread is None
    assert retried.opened.triage == {"language": "it"} and retried.opened.arrival == 100.0
    newest = await store.inbound_lookup("gw", "m9", ["t-old", "t-new", "t-old"])
    assert newest.opened is None and newest.on_thread.id == "c2"
    assert (await store.inbound_lookup("gw", "m9", ["shared"])).on_thread.id == "c1"
    assert await store.inbound_lookup("gw", "m9", []) == (None, None)
    assert await store.inbound_lookup("other", "m1", ["t-old"]) == (None, None)
    assert (await store.thread_contact("gw", ["shared", "t-new"])).id == "c2"
    assert await store.thread_contact("gw", []) is None
    assert await store.thread_contact("gw", ["nowhere"]) is None
