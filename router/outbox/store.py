"""The outbox's tables: committed gateway events in delivery order, and the subscriptions
with their cursors. Reads use the store's readers; writes go through its journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from router.store.repository import Store
from router.store.schema import OutboxEventRow, SubscriptionRow

OUTBOX: Table = OutboxEventRow.__table__  # type: ignore[assignment]
SUBSCRIPTIONS: Table = SubscriptionRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    contact_id: str
    type: str
    payload: dict[str, Any]


class OutboxStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def events_after(
        self, seq: int, limit: int = 100, types: Sequence[str] = ()
    ) -> list[StoredEvent]:
        query = select(OUTBOX).where(OUTBOX.c.seq > seq)
        if types:
            query = query.where(OUTBOX.c.type.in_(list(types)))
        query = query.order_by(OUTBOX.c.seq).limit(limit)
        async with self.store.engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [StoredEvent(r["seq"], r["contact_id"], r["type"], r["payload"]) for r in rows]

    async def count_after(self, seq: int, types: Sequence[str] = ()) -> int:
        """How many events (of these types) come after ``seq``: a subscription's backlog."""
        query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.seq > seq)
        if types:
            query = query.where(OUTBOX.c.type.in_(list(types)))
        async with self.store.engine.connect() as connection:
            return int((await connection.execute(query)).scalar() or 0)

    async def seq_before(self, at: float) -> int:
        """The position just before the first event at or after ``at`` (0: the start)."""
        query = select(func.max(OUTBOX.c.seq)).where(OUTBOX.c.at < at)
        async with self.store.engine.connect() as connection:
            return int((await connection.execute(query)).scalar() or 0)

    async def last_seq(self) -> int:
        async with self.store.engine.connect() as connection:
            value = (await connection.execute(select(func.max(OUTBOX.c.seq)))).scalar()
        return int(value or 0)

    async def seq_of(self, event_id: str) -> int | None:
        async with self.store.engine.connect() as connection:
            value = (
                await connection.execute(select(OUTBOX.c.seq).where(OUTBOX.c.event_id == event_id))
            ).scalar()
        return None if value is None else int(value)

    async def subscriptions(self) -> list[SubscriptionRow]:
        async with self.store.engine.connect() as connection:
            rows = (
                await connection.execute(select(SUBSCRIPTIONS).order_by(SUBSCRIPTIONS.c.id))
            ).mappings()
            return [SubscriptionRow(**row) for row in rows]

    async def subscription(self, subscription_id: str) -> SubscriptionRow | None:
        async with self.store.engine.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else SubscriptionRow(**row)

    async def put(self, values: dict[str, Any]) -> bool:
        """Create the subscription or change its url, types, secret, status; True if new.
        A new one starts after the newest event (``cursor`` in ``values`` overrides)."""

        def put(connection: Connection) -> bool:
            found = connection.execute(
                select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.id == values["id"])
            ).first()
            if found is None:
                newest = connection.execute(select(func.max(OUTBOX.c.seq))).scalar() or 0
                connection.execute(insert(SUBSCRIPTIONS), {"cursor": newest, **values})
                return True
            changed = {k: v for k, v in values.items() if k not in ("id", "created_at", "cursor")}
            connection.execute(
                update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == values["id"]), changed
            )
            return False

        return await self.store.commit(put)

    async def remove(self, subscription_id: str) -> bool:
        def remove(connection: Connection) -> bool:
            result = connection.execute(
                delete(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id)
            )
            return bool(result.rowcount)

        return await self.store.commit(remove)

    async def change(self, subscription_id: str, **values: Any) -> None:
        def change(connection: Connection) -> None:
            connection.execute(
                update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == subscription_id), values
            )

        await self.store.commit(change)

    async def purge(self, before: float) -> int:
        """Forget events older than ``before`` that every active subscription has passed;
        the number forgotten."""

        def purge(connection: Connection) -> int:
            held = connection.execute(
                select(func.min(SUBSCRIPTIONS.c.cursor)).where(SUBSCRIPTIONS.c.status == "active")
            ).scalar()
            query = delete(OUTBOX).where(OUTBOX.c.at < before)
            if held is not None:
                query = query.where(OUTBOX.c.seq <= held)
            return int(connection.execute(query).rowcount or 0)

        return await self.store.commit(purge)

    async def advance(self, subscription_id: str, seq: int, count: int, now: float) -> None:
        """Everything up to ``seq`` is delivered (``count`` events were sent)."""

        def advance(connection: Connection) -> None:
            connection.execute(
                update(SUBSCRIPTIONS)
                .where(SUBSCRIPTIONS.c.id == subscription_id, SUBSCRIPTIONS.c.cursor < seq)
                .values(
                    cursor=seq,
                    delivered=SUBSCRIPTIONS.c.delivered + count,
                    last_delivery_at=now if count else SUBSCRIPTIONS.c.last_delivery_at,
                    failing_since=None,
                )
            )

        await self.store.commit(advance)
