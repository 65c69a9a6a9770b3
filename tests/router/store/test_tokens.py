"""Desktop tokens looked up several at once (router/store/tokens.py), on real SQLite and
real PostgreSQL, through the driver on a kept connection (router/store/kept_reads.py),
and through the engine for an in-memory database: each token gets its agent, or None if
no agent has it, in the order asked, whatever else the statement holds (the same token
twice, unknown tokens, more tokens than one statement looks up); a read that fails is a
StoreError, and the next one reads again."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from router.engine import Engine
from router.runtime import RouterRuntime
from router.store.errors import StoreError
from router.store.repository import Store
from router.store.tokens import MOST_TOKENS
from tests.engine_helpers import RULES


async def agent_with_token(store: Store, agent_id: str, token: str) -> None:
    await store.save_agent({"id": agent_id, "name": agent_id, "skills": {}}, 1.0)
    assert await store.set_agent_token(agent_id, token)


async def test_each_token_gets_its_agent_in_order(store: Store) -> None:
    await agent_with_token(store, "anna", "secret-anna")
    await agent_with_token(store, "bruno", "secret-bruno")
    tokens = ["secret-bruno", "nobody's", "secret-anna", "secret-bruno", ""]
    assert await store.agent_ids_by_tokens(tokens) == ["bruno", None, "anna", "bruno", None]
    assert await store.agent_id_by_token("secret-anna") == "anna"
    assert await store.agent_ids_by_tokens([]) == []


async def test_a_rotated_token_is_nobodys(store: Store) -> None:
    await agent_with_token(store, "anna", "old")
    assert await store.set_agent_token("anna", "new")
    assert await store.agent_ids_by_tokens(["old", "new"]) == [None, "anna"]


async def test_more_tokens_than_one_statement_looks_up(store: Store) -> None:
    count = MOST_TOKENS + 5
    for n in range(count):
        await agent_with_token(store, f"agent-{n:03}", f"token-{n:03}")
    tokens = [f"token-{n:03}" for n in reversed(range(count))]
    expected = [f"agent-{n:03}" for n in reversed(range(count))]
    assert await store.agent_ids_by_tokens(tokens) == expected


async def test_a_database_that_cannot_be_read_is_a_store_error(store: Store) -> None:
    await agent_with_token(store, "anna", "secret-anna")
    assert await store.agent_ids_by_tokens(["secret-anna"]) == ["anna"]  # connection kept
    async with store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE agents RENAME TO agents_gone"))
    with pytest.raises(StoreError) as raised:
        await store.agent_ids_by_tokens(["any"])
    driver_errors = SQLAlchemyError | OSError | sqlite3.Error | asyncpg.PostgresError
    assert isinstance(raised.value.__cause__, driver_errors)
    async with store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE agents_gone RENAME TO agents"))
    assert await store.agent_ids_by_tokens(["secret-anna"]) == ["anna"]


async def test_a_lost_connection_fails_one_read_and_the_next_reconnects(
    store: Store,
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's connection is a file opened in this process")
    await agent_with_token(store, "anna", "secret-anna")
    assert await store.agent_ids_by_tokens(["secret-anna"]) == ["anna"]
    async with store.engine.connect() as connection:  # the database ends the reader's session
        ended = await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE '%token_hash = ANY%'"
            )
        )
        assert ended.scalars().all() == [True]
    with pytest.raises(StoreError):
        await store.agent_ids_by_tokens(["secret-anna"])
    assert await store.agent_ids_by_tokens(["secret-anna"]) == ["anna"]


async def test_an_in_memory_database_reads_through_the_engine() -> None:
    store = await Store.open("sqlite+aiosqlite://")
    try:
        assert store.kept_token_reads is None
        await agent_with_token(store, "anna", "secret-anna")
        assert await store.agent_ids_by_tokens(["x", "secret-anna"]) == [None, "anna"]
    finally:
        await store.close()


async def test_logins_side_by_side_share_a_statement(store: Store) -> None:
    """Twenty desktops' tokens read in one turn of the loop through the runtime
    (RouterRuntime.token_reads, router/gathered_reads.py): one statement, on SQLite too,
    whose reads never yield (a turn of the loop is the only company they get)."""
    for n in range(20):
        await agent_with_token(store, f"agent-{n:02}", f"token-{n:02}")
    runtime = RouterRuntime(Engine(RULES.config), store)
    reads = store.kept_token_reads
    assert reads is not None
    before = reads.statements
    found = await asyncio.gather(*(runtime.token_reads.read(f"token-{n:02}") for n in range(20)))
    assert found == [f"agent-{n:02}" for n in range(20)]
    assert reads.statements - before == 1
