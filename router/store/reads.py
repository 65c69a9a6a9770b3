"""Reads of a contact's record: the contact a gateway's message or thread points at (before
its intake, without the ORM), and beside its row its messages, routing events and offers
(for explain, the desktop's conversation, restarts). Part of Store."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from router.store.changes import CONTACTS
from router.store.errors import read_errors
from router.store.prompt_reads import prompt_read
from router.store.schema import MessageRow, OfferRow, RoutingEventRow
from router.store.thread_links import THREADS


class ConversationLine(NamedTuple):
    at: float
    kind: str
    text: str


CONVERSATION = (
    select(MessageRow.at, MessageRow.kind, MessageRow.text)
    .where(MessageRow.contact_id == bindparam("contact"))
    .order_by(MessageRow.id.desc())
    .limit(bindparam("limit"))
)


OPENED = select(CONTACTS).where(
    CONTACTS.c.gateway == bindparam("gateway"), CONTACTS.c.external_id == bindparam("message")
)
ON_THREAD = (
    select(CONTACTS)
    .join(THREADS, THREADS.c.contact_id == CONTACTS.c.id)
    .where(THREADS.c.gateway == bindparam("gateway"), THREADS.c.key.in_(bindparam("keys")))
    .order_by(CONTACTS.c.arrival.desc())
    .limit(1)
)


class InboundLookup(NamedTuple):
    """What a gateway's message finds stored before its intake (router/dispatch.py): rows
    read like a ``ContactRow``'s, plain objects (nothing writes through them)."""

    opened: Any | None  # the contact this very message opened (a retried delivery)
    on_thread: Any | None  # else the newest contact one of its thread keys points at


def _plain(row: Row[Any] | None) -> Any | None:
    return SimpleNamespace(**row._mapping) if row is not None else None


async def _on_thread(connection: AsyncConnection, gateway: str, keys: Sequence[str]) -> Any | None:
    """The newest contact one of ``keys`` points at (None for no keys: nothing read)."""
    if not keys:
        return None
    thread = {"gateway": gateway, "keys": list(dict.fromkeys(keys))}
    return _plain((await connection.execute(ON_THREAD, thread)).first())


class RecordReads:
    _sessions: async_sessionmaker[AsyncSession]
    _autocommit: AsyncEngine

    async def inbound_lookup(
        self, gateway: str, message: str, keys: Sequence[str]
    ) -> InboundLookup:
        """``contact_by_message``, then (if that finds none) ``thread_contact`` of
        ``keys``, on one connection outside a transaction and without the ORM: what every
        email, SMS, WhatsApp, social message and call asks before its intake."""
        with read_errors():
            async with prompt_read(self._autocommit) as connection:
                found = {"gateway": gateway, "message": message}
                opened = (await connection.execute(OPENED, found)).first()
                if opened is not None:
                    return InboundLookup(_plain(opened), None)
                return InboundLookup(None, await _on_thread(connection, gateway, keys))

    async def thread_contact(self, gateway: str, keys: Sequence[str]) -> Any | None:
        """The newest contact any of these thread keys points at, read like a
        ``ContactRow`` (a plain object; outside a transaction, without the ORM)."""
        if not keys:
            return None
        with read_errors():
            async with prompt_read(self._autocommit) as connection:
                return await _on_thread(connection, gateway, keys)

    async def messages(self, contact_id: str, limit: int = 200) -> list[ConversationLine]:
        """A contact's messages after the first, oldest first (the last ``limit``): the
        columns the desktop's conversation shows, in one statement outside a transaction
        (a desktop reads it for every contact it accepts), its connection back in the
        pool at once (router/store/prompt_reads.py). StoreError if it cannot be read."""
        with read_errors():
            async with prompt_read(self._autocommit) as connection:
                result = await connection.execute(
                    CONVERSATION, {"contact": contact_id, "limit": limit}
                )
                lines = [ConversationLine(*row) for row in result]
        lines.reverse()
        return lines

    async def events(self, contact_id: str) -> Sequence[RoutingEventRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(RoutingEventRow)
                .where(RoutingEventRow.contact_id == contact_id)
                .order_by(RoutingEventRow.id)
            )
            return result.scalars().all()

    async def events_of_kind(
        self, contact_ids: Sequence[str], kinds: Sequence[str]
    ) -> list[RoutingEventRow]:
        """These contacts' events of these kinds, in order (by the contact_id index)."""
        found: list[RoutingEventRow] = []
        async with self._sessions() as session:
            for start in range(0, len(contact_ids), 500):
                result = await session.execute(
                    select(RoutingEventRow)
                    .where(RoutingEventRow.contact_id.in_(contact_ids[start : start + 500]))
                    .where(RoutingEventRow.kind.in_(kinds))
                    .order_by(RoutingEventRow.id)
                )
                found.extend(result.scalars().all())
        return found

    async def offer(self, offer_id: str) -> OfferRow | None:
        async with self._sessions() as session:
            return await session.get(OfferRow, offer_id)

    async def offers(self, contact_id: str) -> Sequence[OfferRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(OfferRow).where(OfferRow.contact_id == contact_id).order_by(OfferRow.made_at)
            )
            return result.scalars().all()
