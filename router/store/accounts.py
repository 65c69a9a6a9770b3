"""Users and their sign-in sessions: the rows behind the pages' sign-in (api/accounts).

Writes are units of the store's journal (``Store.commit``); reads use their own session.
Passwords arrive here already hashed and session ids already as their SHA-256: this module
never sees a secret.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.errors import read_errors
from router.store.schema import UserRow, UserSessionRow

USERS: Table = UserRow.__table__  # type: ignore[assignment]
SESSIONS: Table = UserSessionRow.__table__  # type: ignore[assignment]
Commit = Callable[[Callable[[Connection], Any]], Awaitable[Any]]


class Accounts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit

    async def save_user(self, values: dict[str, Any], now: float) -> tuple[UserRow, bool]:
        """Create or update a user: (row, created). Fields not given are kept."""

        def save(connection: Connection) -> tuple[dict[str, Any], bool]:
            found = connection.execute(select(USERS).where(USERS.c.name == values["name"]))
            existing = found.mappings().first()
            if existing is None:
                row = {"display_name": "", "agent_id": None, "password_hash": None,
                       "oidc_subject": None, "disabled": False, **values,
                       "created_at": now, "updated_at": now}  # fmt: skip
                connection.execute(insert(USERS), row)
                return row, True
            changed = {**values, "updated_at": now}
            connection.execute(update(USERS).where(USERS.c.name == values["name"]), changed)
            return {**existing, **changed}, False

        row, created = await self._commit(save)
        return UserRow(**row), created

    async def user(self, name: str) -> UserRow | None:
        """StoreError if it cannot be read (a signed-in request reads it)."""
        with read_errors():
            async with self._sessions() as session:
                return await session.get(UserRow, name)

    async def user_by_subject(self, subject: str) -> UserRow | None:
        async with self._sessions() as session:
            found = await session.execute(select(UserRow).where(UserRow.oidc_subject == subject))
            return found.scalar_one_or_none()

    async def users(self) -> Sequence[UserRow]:
        async with self._sessions() as session:
            return (await session.execute(select(UserRow).order_by(UserRow.name))).scalars().all()

    async def delete_user(self, name: str, now: float) -> bool:
        """Remove a user and revoke its sessions."""

        def remove(connection: Connection) -> bool:
            _revoke(connection, SESSIONS.c.user_name == name, now)
            return bool(connection.execute(delete(USERS).where(USERS.c.name == name)).rowcount)

        return bool(await self._commit(remove))

    async def open_session(self, values: dict[str, Any]) -> None:
        await self._commit(lambda connection: connection.execute(insert(SESSIONS), values))

    async def session(self, id_hash: str) -> UserSessionRow | None:
        """StoreError if it cannot be read (a signed-in request reads it)."""
        with read_errors():
            async with self._sessions() as session:
                return await session.get(UserSessionRow, id_hash)

    async def user_sessions(self, name: str, now: float) -> Sequence[UserSessionRow]:
        """The live (unexpired, unrevoked) sessions of a user."""
        async with self._sessions() as session:
            found = await session.execute(
                select(UserSessionRow)
                .where(
                    UserSessionRow.user_name == name,
                    UserSessionRow.revoked_at.is_(None),
                    UserSessionRow.expires_at > now,
                )
                .order_by(UserSessionRow.created_at)
            )
            return found.scalars().all()

    async def revoke_session(self, id_hash: str, now: float) -> bool:
        return bool(await self._commit(lambda c: _revoke(c, SESSIONS.c.id_hash == id_hash, now)))

    async def revoke_user_sessions(self, name: str, now: float) -> int:
        return int(await self._commit(lambda c: _revoke(c, SESSIONS.c.user_name == name, now)))


def _revoke(connection: Connection, where: Any, now: float) -> int:
    result = connection.execute(
        update(SESSIONS).where(where, SESSIONS.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(result.rowcount)
