"""Contacts taken in and not yet planned (state ``received``, router/reception.py).

``take`` is intake's one durable write: the customer found or created from the contact's
identities and the contact inserted with that customer, with its thread keys (a chat's
session, an email's Message-ID) pointed at it, in one journal unit, so a gateway waits for
one commit, not two. A duplicate (gateway, message id) is decided by the unique
constraint and writes nothing. The router's plan of the contact is a routing change
(``ContactPlan`` in router/store/changes.py), recorded without waiting like a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.states import RECEIVED
from router.store.changes import CONTACTS
from router.store.customers import CustomerDirectory
from router.store.errors import StoreBusy, StoreError
from router.store.journal import Commit
from router.store.pg_fence import FenceCheck
from router.store.schema import ContactRow
from router.store.take_batch import (
    Guesses,
    Take,
    Taken,
    take_as_unseen,
    take_together,
    with_customer,
)
from router.store.thread_links import upsert_thread
from skills.identity import Identity

ATTEMPTS = 3  # a concurrent first contact (another node) may insert the same identity
BY_MESSAGE = select(CONTACTS.c.id).where(
    CONTACTS.c.gateway == bindparam("by_gateway"),
    CONTACTS.c.external_id == bindparam("by_message"),
)


@dataclass(frozen=True, slots=True)
class TakeWork:
    """A journal unit: one contact to take in. A run of them in a batch is taken in
    together (``write_together``); one alone the same way (on PostgreSQL two round trips,
    where ``take_one`` makes five)."""

    contacts: ReceivedContacts
    take: Take

    def __call__(self, connection: Connection) -> Taken:
        return self.write_together(connection, [self])[0]

    @staticmethod
    def write_together(connection: Connection, works: Sequence[TakeWork]) -> list[Taken]:
        contacts = works[0].contacts
        return take_together(
            connection, [w.take for w in works], contacts.insert, contacts.take_one
        )

    @staticmethod
    def write_once(
        connection: Connection, works: Sequence[TakeWork], fence: FenceCheck | None
    ) -> list[Taken]:
        """The run with one INSERT, outside a transaction (PostgreSQL's intake lane,
        router/store/journal.py): first as if nothing of it were stored (most new contacts
        are new, and the reception's caches answer for the customers it knows), then, if
        a unique key says otherwise, after one look-up. NeedsTransaction if it must link
        customers. ``fence``: the INSERT checks the router fence (pg_fence.py)."""
        contacts = works[0].contacts
        takes = [w.take for w in works]
        if contacts.guesses.worth_it():
            taken = take_as_unseen(connection, takes, contacts.insert, contacts.take_one, fence)
            if taken is not None:
                return taken
            contacts.guesses.missed()
        return take_together(
            connection, takes, contacts.insert, contacts.take_one, one_write=True, fence=fence
        )


class ReceivedContacts:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        commit: Commit,
        customers: CustomerDirectory,
        insert_contact: Insert,
    ) -> None:
        self._sessions = sessions
        self._commit = commit
        self._customers = customers
        self.insert = insert_contact  # INSERT ... ON CONFLICT (gateway, external_id) DO NOTHING
        self.guesses = Guesses()  # PostgreSQL: whether a run is first taken as unseen

    async def take(
        self,
        values: dict[str, Any],
        identities: Sequence[Identity],
        name: str,
        now: float,
        threads: Sequence[str] = (),
    ) -> Taken:
        """Resolve the customer (if ``identities``) and insert the contact, with its
        ``threads`` keys pointed at it, in one unit. ``values``: the contact's row; its
        ``customer_id`` and the reception's customer facts are filled in here. New
        contacts of one batch are taken in together (router/store/take_batch.py)."""
        work = TakeWork(self, Take(values, identities, name, now, threads))
        for attempt in range(ATTEMPTS):
            try:
                return await self._commit(work)
            except StoreBusy:
                raise
            except StoreError:
                if attempt == ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def take_one(self, connection: Connection, take: Take) -> Taken:
        """One contact alone, the way ``take_together`` goes when a run links customers
        (the linking is the ORM's, router/store/customers.py)."""
        values = take.values
        key = {"by_gateway": values["gateway"], "by_message": values["external_id"]}
        found = connection.execute(BY_MESSAGE, key).scalar_one_or_none()
        if found is not None:  # a retry: no customer made, nothing inserted
            return Taken(found, False, None)
        resolved = None
        row = values
        if take.identities:
            resolved = self._customers.resolve_in(
                connection, take.identities, take.name, take.now, "intake"
            )
            row = with_customer(values, resolved)
        if connection.execute(self.insert, row).rowcount != 1:  # lost a race to a retry
            raise StoreError("the message id was stored meanwhile; retry")  # runs again
        threads = take.thread_rows()
        if threads:
            connection.execute(upsert_thread(connection), threads)
        return Taken(values["id"], True, resolved, row)

    async def pending(self, domain: str, before: float | None = None) -> Sequence[ContactRow]:
        """Contacts of ``domain`` stored and not planned yet, oldest first; ``before``: only
        those that arrived before then (a sweep leaves fresh ones to their command)."""
        query = select(ContactRow).where(ContactRow.domain == domain, ContactRow.state == RECEIVED)
        if before is not None:
            query = query.where(ContactRow.arrival < before)
        async with self._sessions() as session:
            result = await session.execute(query.order_by(ContactRow.arrival))
            return result.scalars().all()
