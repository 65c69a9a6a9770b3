"""Reads by key through the driver on a kept connection (router/store/kept_reads.py), on
real SQLite and real PostgreSQL: each read sees the last commit (the kept connection
holds no snapshot between reads), reads side by side each get their rows (PostgreSQL:
one at a time on the connection), a cancelled read leaves the connection usable, the
connection cannot write, a failed statement is a StoreError after which the next read
works, and after closing no read opens a connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import sqlite

from router.store.errors import StoreError
from router.store.kept_reads import SqliteKeptReads, fetch_statement
from router.store.repository import Store
from router.store.schema import AgentRow


def agents_named(style: str) -> str:
    mark = "?" if style == "qmark" else "$1"
    return f"SELECT id, name FROM agents WHERE id = {mark}"


async def test_each_read_sees_the_last_commit(store: Store) -> None:
    reads = store.kept_token_reads
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
    reads = store.kept_token_reads
    assert reads is not None
    await store.save_agent({"id": "anna", "name": "Anna", "skills": {}}, 1.0)
    with pytest.raises(StoreError):
        await reads.fetch("SELECT nothing FROM nowhere", [])
    sql = agents_named(reads.style)
    assert [tuple(row) for row in await reads.fetch(sql, ["anna"])] == [("anna", "Anna")]


async def test_the_sqlite_connection_cannot_write(store: Store) -> None:
    reads = store.kept_token_reads
    assert reads is not None
    if reads.style != "qmark":
        pytest.skip("PostgreSQL's readers are the pool's autocommit connections")
    with pytest.raises(StoreError):
        await reads.fetch("DELETE FROM agents", [])


async def test_reads_side_by_side_each_get_their_rows(store: Store) -> None:
    reads = store.kept_token_reads
    assert reads is not None
    for n in range(5):
        await store.save_agent({"id": f"agent-{n}", "name": f"Agent {n}", "skills": {}}, 1.0)
    sql = agents_named(reads.style)
    found = await asyncio.gather(*(reads.fetch(sql, [f"agent-{n}"]) for n in range(5)))
    assert [[tuple(row) for row in rows] for rows in found] == [
        [(f"agent-{n}", f"Agent {n}")] for n in range(5)
    ]


async def test_a_cancelled_read_leaves_the_connection_usable(store: Store) -> None:
    reads = store.kept_token_reads
    assert reads is not None
    if reads.style != "numeric_dollar":
        pytest.skip("SQLite's reads never yield: there is nothing to cancel midway")
    await store.save_agent({"id": "anna", "name": "Anna", "skills": {}}, 1.0)
    sent = reads.statements
    slow = asyncio.create_task(reads.fetch("SELECT pg_sleep(30)", []))
    while reads.statements == sent:  # until the slow read is on the connection
        await asyncio.sleep(0)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    rows = await reads.fetch(agents_named(reads.style), ["anna"])
    assert [tuple(row) for row in rows] == [("anna", "Anna")]


async def test_after_closing_no_read_opens_a_connection(store: Store) -> None:
    reads = store.kept_token_reads
    assert reads is not None
    sql = agents_named(reads.style)
    assert await reads.fetch(sql, ["anna"]) == []
    await reads.aclose()
    with pytest.raises(StoreError):
        await reads.fetch(sql, ["anna"])
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_missing_sqlite_file_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"
    reads = SqliteKeptReads(str(missing), sqlite.dialect())
    with pytest.raises(StoreError):
        await reads.fetch("SELECT 1", [])
    assert not missing.exists()
    await reads.aclose()


async def test_a_statement_with_an_expanding_parameter_is_refused(tmp_path: Path) -> None:
    reads = SqliteKeptReads(str(tmp_path / "any.db"), sqlite.dialect())
    expanding = select(AgentRow.id).where(AgentRow.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="expanding"):
        await fetch_statement(reads, expanding, {"ids": ["anna"]})
