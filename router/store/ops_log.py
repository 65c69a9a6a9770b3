"""The supervisors' audit log: every action (forced state, reassign, pull, priority,
message) with who did it and the reason they gave."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.schema import OpsActionRow

OPS_ACTIONS: Table = OpsActionRow.__table__  # type: ignore[assignment]
Commit = Callable[[Callable[[Connection], Any]], Awaitable[Any]]


class OpsLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit

    async def log(
        self,
        at: float,
        actor: str,
        action: str,
        *,
        contact_id: str | None = None,
        agent_id: str | None = None,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one action through the journal and wait for its commit."""
        values = {
            "at": at,
            "actor": actor,
            "action": action,
            "contact_id": contact_id,
            "agent_id": agent_id,
            "reason": reason[:500],
            "detail": detail or {},
        }

        def write(connection: Connection) -> None:
            connection.execute(insert(OPS_ACTIONS), values)

        await self._commit(write)

    async def recent(
        self, limit: int = 100, contact_id: str | None = None
    ) -> Sequence[OpsActionRow]:
        query = select(OpsActionRow).order_by(OpsActionRow.id.desc()).limit(limit)
        if contact_id is not None:
            query = query.where(OpsActionRow.contact_id == contact_id)
        async with self._sessions() as session:
            return (await session.execute(query)).scalars().all()
