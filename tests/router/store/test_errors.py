"""A read the database cannot answer raises the store's own StoreError, never a driver
error (router/store/errors.py ``read_errors``), on real SQLite and real PostgreSQL: the
API answers it with 503 and Retry-After, a desktop login with ``unavailable``."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from router.store.errors import StoreError, read_errors
from router.store.repository import Store


def test_driver_and_connection_errors_become_store_errors() -> None:
    for cause in (SQLAlchemyError("no such table: users"), ConnectionResetError("gone")):
        with pytest.raises(StoreError, match="could not read") as raised, read_errors():
            raise cause
        assert raised.value.__cause__ is cause
        assert "users" not in str(raised.value)  # only the type: safe to show
    with pytest.raises(ValueError), read_errors():
        raise ValueError("not the database's")


async def test_a_signed_in_users_reads_raise_store_errors(store: Store) -> None:
    async with store.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE user_sessions RENAME TO sessions_gone"))
        await connection.execute(text("ALTER TABLE users RENAME TO users_gone"))
    with pytest.raises(StoreError):
        await store.accounts.session("a-session-hash")
    with pytest.raises(StoreError):
        await store.accounts.user("anna")
