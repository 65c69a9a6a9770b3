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
