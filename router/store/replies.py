"""The reply outbox's records: replies to providers and opt-outs.

A reply row is committed (through the store's journal) before anything is sent, together
with the agent's message on the contact and, for email, its Message-ID joined to the
contact's thread, so the customer's answer threads back. Status moves are guarded in the
database (``UPDATE ... WHERE status IN (allowed)``): two writers can never both move it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.journal import T, Work
from router.store.schema import ContactRow, MessageRow, OptOutRow, ReplyRow, ThreadRow

REPLIES: Table = ReplyRow.__table__  # type: ignore[assignment]
MESSAGES: Table = MessageRow.__table__  # type: ignore[assignment]
THREADS: Table = ThreadRow.__table__  # type: ignore[assignment]
OPT_OUTS: Table = OptOutRow.__table__  # type: ignore[assignment]


class ReplyStatus(StrEnum):
    PENDING = "pending"  # committed, not yet handed to the provider
    SENDING = "sending"  # handed over: if we stop now, nobody knows whether it arrived
    SENT = "sent"
    FAILED = "failed"  # the provider refused (reason kept); nothing was delivered
    UNKNOWN = "unknown"  # may or may not have arrived: never resent automatically


MOVES: dict[ReplyStatus, frozenset[ReplyStatus]] = {
    ReplyStatus.PENDING: frozenset({ReplyStatus.SENDING, ReplyStatus.FAILED}),
    ReplyStatus.SENDING: frozenset(
        {ReplyStatus.SENT, ReplyStatus.FAILED, ReplyStatus.UNKNOWN, ReplyStatus.PENDING}
    ),
    ReplyStatus.SENT: frozenset(),
    ReplyStatus.FAILED: frozenset(),
    ReplyStatus.UNKNOWN: frozenset(),
}
FINAL = frozenset({ReplyStatus.SENT, ReplyStatus.FAILED, ReplyStatus.UNKNOWN})

Commit = Callable[[Work[T]], Awaitable[T]]


def sources_of(target: ReplyStatus) -> list[str]:
    return [source.value for source, targets in MOVES.items() if target in targets]


def reply_view(row: dict[str, Any]) -> dict[str, Any]:
    """What the desktop is told of a reply."""
    return {
        "reply_id": row["id"],
        "contact_id": row["contact_id"],
        "status": row["status"],
        "reason": row.get("reason", ""),
        "platform": row["platform"],
        "text": row["text"][:2000],
        "provider_id": row.get("provider_id", ""),
        "message_id": row.get("message_id", ""),
        "at": row["updated_at"],
    }


class Replies:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit[Any]) -> None:
        self._sessions = sessions
        self._commit = commit

    async def create(
        self, values: dict[str, Any], thread: tuple[str, str] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Commit a new pending reply with the agent's message on the contact (and, for
        email, its Message-ID as a thread key of ``thread = (gateway, key)``). A reply with
        the same (contact, agent, client_ref) already stored is returned instead: (row,
        created)."""

        def work(connection: Connection) -> tuple[dict[str, Any], bool]:
            if values.get("client_ref"):
                found = connection.execute(
                    select(REPLIES).where(
                        REPLIES.c.contact_id == values["contact_id"],
                        REPLIES.c.agent_id == values["agent_id"],
                        REPLIES.c.client_ref == values["client_ref"],
                    )
                )
                existing = found.mappings().first()
                if existing is not None:
                    return dict(existing), False
            connection.execute(insert(REPLIES), values)
            connection.execute(
                insert(MESSAGES),
                {
                    "contact_id": values["contact_id"],
                    "external_id": f"reply:{values['id']}",
                    "at": values["created_at"],
                    "kind": "agent",
                    "text": values["text"],
                    "emotion": {},
                },
            )
            if thread is not None:
                gateway, key = thread
                connection.execute(
                    delete(THREADS).where(THREADS.c.gateway == gateway, THREADS.c.key == key)
                )
                connection.execute(
                    insert(THREADS),
                    {
                        "gateway": gateway,
                        "key": key,
                        "contact_id": values["contact_id"],
                        "created_at": values["created_at"],
                    },
                )
            return dict(values), True

        result: tuple[dict[str, Any], bool] = await self._commit(work)
        return result

    async def move(
        self, reply_id: str, target: ReplyStatus, now: float, **fields: Any
    ) -> dict[str, Any] | None:
        """Move a reply to ``target`` if its current status allows it; the updated row, or
        None when it was not allowed (already final, or moved by someone else)."""
        sources = sources_of(target)

        def work(connection: Connection) -> dict[str, Any] | None:
            changes = {"status": target.value, "updated_at": now, **fields}
            if target is ReplyStatus.SENDING:
                changes["attempts"] = REPLIES.c.attempts + 1
            moved = connection.execute(
                update(REPLIES)
                .where(REPLIES.c.id == reply_id, REPLIES.c.status.in_(sources))
                .values(changes)
            )
            if moved.rowcount != 1:
                return None
            row = connection.execute(select(REPLIES).where(REPLIES.c.id == reply_id))
            found = row.mappings().first()
            return dict(found) if found is not None else None

        moved: dict[str, Any] | None = await self._commit(work)
        return moved

    async def get(self, reply_id: str) -> ReplyRow | None:
        async with self._sessions() as session:
            return await session.get(ReplyRow, reply_id)

    async def for_contact(self, contact_id: str) -> Sequence[ReplyRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(ReplyRow)
                .where(ReplyRow.contact_id == contact_id)
                .order_by(ReplyRow.created_at)
            )
            return result.scalars().all()

    async def unfinished(self) -> Sequence[ReplyRow]:
        """Replies a stopped server left pending or sending."""
        wanted = [ReplyStatus.PENDING.value, ReplyStatus.SENDING.value]
        async with self._sessions() as session:
            result = await session.execute(
                select(ReplyRow).where(ReplyRow.status.in_(wanted)).order_by(ReplyRow.created_at)
            )
            return result.scalars().all()

    async def last_customer_message(self, contact: ContactRow) -> float:
        """When the customer last wrote on this contact (its arrival, or a later message)."""
        async with self._sessions() as session:
            latest = await session.scalar(
                select(func.max(MessageRow.at)).where(
                    MessageRow.contact_id == contact.id, MessageRow.kind == "message"
                )
            )
        return max(contact.arrival, float(latest or 0.0))

    async def email_thread(self, contact: ContactRow) -> tuple[str, tuple[str, ...]]:
        """(In-Reply-To, References) for a reply on an email contact: the customer's latest
        Message-ID, and every Message-ID of the thread, oldest first."""
        async with self._sessions() as session:
            last = await session.scalar(
                select(MessageRow.external_id)
                .where(
                    MessageRow.contact_id == contact.id,
                    MessageRow.kind == "message",
                    MessageRow.external_id.is_not(None),
                )
                .order_by(MessageRow.at.desc(), MessageRow.id.desc())
                .limit(1)
            )
            keys = await session.execute(
                select(ThreadRow.key)
                .where(ThreadRow.gateway == contact.gateway, ThreadRow.contact_id == contact.id)
                .order_by(ThreadRow.created_at)
            )
            thread = [key for key in keys.scalars().all() if key.startswith("<")]
        first = contact.external_id if contact.external_id.startswith("<") else ""
        in_reply_to = last if last and last.startswith("<") else first
        ids = (*thread, first, in_reply_to)  # a generic gateway's ids are not Message-IDs
        return in_reply_to, tuple(dict.fromkeys(key for key in ids if key))

    # ------------------------------------------------------------- opt-outs

    async def set_opted_out(
        self, platform: str, address: str, opted_out: bool, now: float, source: str
    ) -> None:
        def work(connection: Connection) -> None:
            connection.execute(
                delete(OPT_OUTS).where(
                    OPT_OUTS.c.platform == platform, OPT_OUTS.c.address == address
                )
            )
            if opted_out:
                connection.execute(
                    insert(OPT_OUTS),
                    {"platform": platform, "address": address, "at": now, "source": source},
                )

        await self._commit(work)

    async def opted_out(self, platform: str, address: str) -> bool:
        async with self._sessions() as session:
            return await session.get(OptOutRow, (platform, address)) is not None
