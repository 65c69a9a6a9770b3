"""Queues closed by hand are kept (SQLite and PostgreSQL)."""

from __future__ import annotations

from router.store.repository import Store


async def test_closed_queues_are_kept_until_reopened(store: Store) -> None:
    await store.switches.close("billing", "flood", 10.0)
    await store.switches.close("*", "fire alarm", 11.0)
    await store.switches.close("billing", "flood, still", 12.0)  # closing again: replaced
    assert sorted(await store.switches.closed()) == [
        ("*", "fire alarm", 11.0),
        ("billing", "flood, still", 12.0),
    ]
    await store.switches.reopen("*")
    await store.switches.reopen("cards")  # not closed: nothing to do
    assert await store.switches.closed() == [("billing", "flood, still", 12.0)]
