"""Reads by key through the driver on a kept connection (router/store/kept_reads.py), on
real SQLite and real PostgreSQL: each read sees the last commit (the kept connection
holds no snapshot between reads), the connection cannot write, and a failed statement is
a StoreError after which the next read works."""

from __future__ import annotations

import pytest

from router.store.errors import StoreError
from router.store.repository import Store


def agents_named(style: str) -> str:
    mark = "?" if style == "qmark" else "$1"
    return f"SELECT id, name FROM agents WHERE id = {mark}"


async def test_each_read_sees_the_last_commit(store: Store) -> None:
    reads = store.token_reads
    assert reads is not None
    sql = agents_named(reads.style)
    assert await reads.fetch(sql, ["anna"]) == []
    await store.save_agent({"id": "anna", "name": "Anna", "skills": {}}, 1.0)
    assert [tuple(row) for row in await reads.fetch(sql, ["anna"])] == [("anna", "Anna")]
    await store.save_agent({"id": "anna", "name": "Anna B.", "skills": {}}, 2.0)
    assert [tuple(row) for row in await reads.fetch(sql, ["anna"])] == [("anna", "Anna B.")]


async def test_a_failed_statement_is_a_store_error_and_the_next_read_works(
    store: Store,
) -> None:
    reads = store.token_reads
    assert reads is not None
    await store.save_agent({"id": "anna", "name": "Anna", "skills": {}}, 1.0)
    with pytest.raises(StoreError):
        await reads.fetch("SELECT nothing FROM nowhere", [])
    sql = agents_named(reads.style)
    assert [tuple(row) for row in await reads.fetch(sql, ["anna"])] == [("anna", "Anna")]


async def test_the_sqlite_connection_cannot_write(store: Store) -> None:
    reads = store.token_reads
    assert reads is not None
    if reads.style != "qmark":
        pytest.skip("PostgreSQL's readers are the pool's autocommit connections")
    with pytest.raises(StoreError):
        await reads.fetch("DELETE FROM agents", [])
