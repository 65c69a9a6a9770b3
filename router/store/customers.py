"""One customer across channels: identities resolve to a customer, and a contact that
reveals two identities of different customers links (merges) them. Every merge is written
to ``customer_merges`` with the identities and contacts it moved, so it can be undone
(router/store/customer_records.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from router.ids import ordered_id
from router.store.errors import StoreBusy, StoreError
from router.store.pair_lookup import pair_lookup
from router.store.schema import ContactRow, CustomerRow, IdentityRow, MergeRow
from skills.identity import Identity

Commit = Callable[[Callable[[Connection], "ResolvedCustomer"]], Awaitable["ResolvedCustomer"]]


class CustomerStoreError(StoreError):
    """The customer directory could not resolve or read a customer."""


@dataclass(frozen=True, slots=True)
class ResolvedCustomer:
    customer_id: str
    created: bool
    merged: tuple[str, ...]  # customer ids folded into this one by this contact
    identities: tuple[Identity, ...]

    @property
    def known(self) -> bool:
        """The customer existed before this contact (so it may have history)."""
        return not self.created or bool(self.merged)


def _primary(session: Session, customer_id: str) -> CustomerRow:
    row = session.get(CustomerRow, customer_id)
    while row is not None and row.merged_into is not None:
        row = session.get(CustomerRow, row.merged_into)
    if row is None:
        raise CustomerStoreError(f"customer {customer_id} vanished")
    return row


CUSTOMERS: Table = CustomerRow.__table__  # type: ignore[assignment]
IDENTITIES: Table = IdentityRow.__table__  # type: ignore[assignment]
INSERT_CUSTOMER = insert(CUSTOMERS)
INSERT_IDENTITY = insert(IDENTITIES)
OWNERS = pair_lookup(IDENTITIES, "kind", "value", ("kind", "value", "customer_id"))


class CustomerDirectory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit  # the store's: a journal unit, waited for until committed

    async def resolve(
        self, identities: Sequence[Identity], name: str, now: float, by: str = "intake"
    ) -> ResolvedCustomer:
        """The customer these identities belong to, created or linked as needed; ``by``
        goes to the merge history when customers are linked."""
        if not identities:
            raise ValueError("resolve needs at least one identity")
        for attempt in range(3):  # a concurrent first contact may insert the same identity
            try:
                return await self._commit(
                    lambda connection: self.resolve_in(connection, identities, name, now, by)
                )
            except StoreBusy:
                raise
            except StoreError as exc:
                if attempt == 2:
                    raise CustomerStoreError(
                        f"identity conflict kept recurring: {type(exc).__name__}"
                    ) from None
        raise AssertionError("unreachable")

    def resolve_in(
        self,
        connection: Connection,
        identities: Sequence[Identity],
        name: str,
        now: float,
        by: str,
    ) -> ResolvedCustomer:
        """One journal unit. The common cases (a new customer; identities of one customer)
        are a few Core statements; linking two customers takes the ORM path."""
        wanted = {(i.kind, i.value) for i in identities}
        owners = {
            (kind, value): customer_id
            for kind, value, customer_id in OWNERS.rows(connection, wanted)
        }
        found = set(owners.values())
        customer_id: str | None = None
        if not found:
            customer_id = ordered_id()
            connection.execute(
                INSERT_CUSTOMER, {"id": customer_id, "name": name, "created_at": now}
            )
        elif len(found) == 1:
            (owner,) = found
            merged_into = (
                connection.execute(select(CUSTOMERS.c.merged_into).where(CUSTOMERS.c.id == owner))
            ).scalar_one_or_none()
            if merged_into is None:
                customer_id = owner
        if customer_id is None:  # several customers, or a merged one: link them (ORM)
            return self._link_in(connection, identities, name, now, by)
        missing = sorted(wanted - set(owners))
        if missing:
            connection.execute(
                INSERT_IDENTITY,
                [
                    {"kind": kind, "value": value, "customer_id": customer_id, "created_at": now}
                    for kind, value in missing
                ],
            )
        return ResolvedCustomer(customer_id, not found, (), tuple(sorted(identities)))

    def _link_in(
        self,
        connection: Connection,
        identities: Sequence[Identity],
        name: str,
        now: float,
        by: str,
    ) -> ResolvedCustomer:
        """Identities of several customers: the oldest keeps them all, the others are
        merged into it (their contacts follow). The session joins the batch's transaction."""
        wanted = {(i.kind, i.value) for i in identities}
        with Session(
            bind=connection, join_transaction_mode="rollback_only", expire_on_commit=False
        ) as session:
            known = (
                (
                    session.execute(
                        select(IdentityRow).where(
                            IdentityRow.kind.in_({kind for kind, _ in wanted}),
                            IdentityRow.value.in_({value for _, value in wanted}),
                        )
                    )
                )
                .scalars()
                .all()
            )
            known = [row for row in known if (row.kind, row.value) in wanted]
            owners: dict[str, CustomerRow] = {}
            for row in known:
                primary = _primary(session, row.customer_id)
                owners[primary.id] = primary
            created = not owners
            if created:
                customer = CustomerRow(id=ordered_id(), name=name, created_at=now)
                session.add(customer)
                session.flush()
            else:
                customer = min(owners.values(), key=lambda c: (c.created_at, c.id))
                if name and not customer.name:
                    customer.name = name
            merged = tuple(sorted(cid for cid in owners if cid != customer.id))
            for other in merged:
                record_merge(session, customer.id, other, now, by)
                owners[other].merged_into = customer.id
                session.execute(
                    update(IdentityRow)
                    .where(IdentityRow.customer_id == other)
                    .values(customer_id=customer.id)
                )
                session.execute(
                    update(ContactRow)
                    .where(ContactRow.customer_id == other)
                    .values(customer_id=customer.id)
                )
            present = {(row.kind, row.value) for row in known}
            for kind, value in sorted(wanted - present):
                session.add(
                    IdentityRow(kind=kind, value=value, customer_id=customer.id, created_at=now)
                )
            session.flush()
        return ResolvedCustomer(customer.id, created, merged, tuple(sorted(identities)))

    async def identities(self, customer_id: str) -> list[Identity]:
        try:
            async with self._sessions() as session:
                rows = (
                    (
                        await session.execute(
                            select(IdentityRow).where(IdentityRow.customer_id == customer_id)
                        )
                    )
                    .scalars()
                    .all()
                )
        except SQLAlchemyError as exc:
            raise CustomerStoreError(str(exc)) from exc
        return sorted(Identity(row.kind, row.value) for row in rows)


def record_merge(session: Session, primary_id: str, merged_id: str, now: float, by: str) -> None:
    """Before ``merged_id`` is folded into ``primary_id``: remember what it brings."""
    moved = session.execute(
        select(IdentityRow.kind, IdentityRow.value).where(IdentityRow.customer_id == merged_id)
    ).all()
    contacts = session.execute(
        select(ContactRow.id).where(ContactRow.customer_id == merged_id)
    ).scalars()
    session.add(
        MergeRow(
            primary_id=primary_id,
            merged_id=merged_id,
            at=now,
            by=by,
            identities=sorted([kind, value] for kind, value in moved),
            contacts=sorted(contacts),
        )
    )
