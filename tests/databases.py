"""Real databases for store tests: a SQLite file, and a fresh PostgreSQL database per test.

PostgreSQL comes from CENTRALINO_TEST_POSTGRES_URL (.ci/run sets it after making sure a
server runs); without it the local default is tried and the PostgreSQL cases are skipped
if nothing answers there.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from router.store.repository import Store

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database; dropped afterwards."""
    configured = os.environ.get("CENTRALINO_TEST_POSTGRES_URL")
    admin_url = make_url(configured or DEFAULT_POSTGRES)
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"centralino_test_{uuid.uuid4().hex[:10]}"
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as exc:  # the server is not there or refuses us
        await admin.dispose()
        if configured:
            raise
        pytest.skip(f"no PostgreSQL at {admin_url.render_as_string()}: {type(exc).__name__}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    else:
        async with postgres_database() as url:
            yield url


def contact_row(contact_id: str, state: str = "queued") -> dict[str, Any]:
    """The fewest columns a stored contact needs (message id = contact id)."""
    return {
        "id": contact_id,
        "gateway": "gw",
        "external_id": contact_id,
        "channel": "chat",
        "queue": "billing",
        "rule": "r",
        "policy": {},
        "state": state,
        "arrival": 1.0,
        "updated_at": 1.0,
    }


@contextmanager
def journal_statements(store: Store) -> Iterator[list[str]]:
    """The first word of every statement the store's journal runs meanwhile."""
    statements: list[str] = []
    engine = store.journal._sync_engine or store.journal._engine.sync_engine

    def seen(*args: Any) -> None:
        statements.append(args[2].split()[0])

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


@contextmanager
def left_in_transaction(store: Store) -> Iterator[list[bool]]:
    """PostgreSQL: for every statement the store's journal sends meanwhile, whether its
    connection was inside a transaction right after it (one sent in autocommit leaves
    none open; one in a transaction leaves it for the COMMIT)."""
    with _in_transaction(store, "after_cursor_execute") as seen:
        yield seen


@contextmanager
def driver_transactions(store: Store) -> Iterator[list[bool]]:
    """PostgreSQL: for every statement the store's journal sends meanwhile, whether its
    connection was inside a transaction by then (asyncpg sends BEGIN before a
    transaction's first statement, so a second statement shows it)."""
    with _in_transaction(store, "before_cursor_execute") as seen:
        yield seen


@contextmanager
def _in_transaction(store: Store, when: str) -> Iterator[list[bool]]:
    """Whether the journal's connection is in a transaction at each statement's ``when``
    (a cursor event's name)."""
    seen: list[bool] = []
    engine = store.journal._engine.sync_engine

    def look(connection: Any, *args: Any) -> None:
        seen.append(connection.connection.driver_connection.is_in_transaction())

    event.listen(engine, when, look)
    try:
        yield seen
    finally:
        event.remove(engine, when, look)
