"""Queues closed by hand (the emergency "closed now" switch), written through the journal
so a restart or a failover keeps them closed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.errors import StoreError
from router.store.schema import QueueSwitchRow

Commit = Callable[[Callable[[Connection], None]], Awaitable[None]]
TABLE: Table = QueueSwitchRow.__table__  # type: ignore[assignment]


class QueueSwitches:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit  # the store's: a journal unit, waited for until committed

    async def close(self, queue: str, reason: str, since: float) -> None:
        def work(connection: Connection) -> None:
            connection.execute(delete(TABLE).where(TABLE.c.queue == queue))
            connection.execute(insert(TABLE).values(queue=queue, reason=reason, since=since))

        await self._commit(work)

    async def reopen(self, queue: str) -> None:
        def work(connection: Connection) -> None:
            connection.execute(delete(TABLE).where(TABLE.c.queue == queue))

        await self._commit(work)

    async def closed(self) -> list[tuple[str, str, float]]:
        """Every queue closed by hand: (queue, reason, since)."""
        try:
            async with self._sessions() as session:
                rows = (await session.execute(select(QueueSwitchRow))).scalars().all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read closed queues: {type(exc).__name__}") from exc
        return [(row.queue, row.reason, row.since) for row in rows]
