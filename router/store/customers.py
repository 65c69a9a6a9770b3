"""One customer across channels: identities resolve to a customer, and a contact that
reveals two identities of different customers links (merges) them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.schema import ContactRow, CustomerRow, IdentityRow
from skills.identity import Identity


class CustomerStoreError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ResolvedCustomer:
    customer_id: str
    created: bool
    merged: tuple[str, ...]  # customer ids folded into this one by this contact
    identities: tuple[Identity, ...]


async def _primary(session: AsyncSession, customer_id: str) -> CustomerRow:
    row = await session.get(CustomerRow, customer_id)
    while row is not None and row.merged_into is not None:
        row = await session.get(CustomerRow, row.merged_into)
    if row is None:
        raise CustomerStoreError(f"customer {customer_id} vanished")
    return row


class CustomerDirectory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def resolve(
        self, identities: Sequence[Identity], name: str, now: float
    ) -> ResolvedCustomer:
        """The customer these identities belong to, created or linked as needed."""
        if not identities:
            raise ValueError("resolve needs at least one identity")
        for attempt in range(3):  # a concurrent first contact may insert the same identity
            try:
                return await self._resolve_once(identities, name, now)
            except IntegrityError:
                if attempt == 2:
                    raise CustomerStoreError("identity conflict kept recurring") from None
        raise AssertionError("unreachable")

    async def _resolve_once(
        self, identities: Sequence[Identity], name: str, now: float
    ) -> ResolvedCustomer:
        wanted = {(i.kind, i.value) for i in identities}
        async with self._sessions.begin() as session:
            known = (
                (
                    await session.execute(
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
                primary = await _primary(session, row.customer_id)
                owners[primary.id] = primary
            created = not owners
            if created:
                customer = CustomerRow(id=uuid.uuid4().hex, name=name, created_at=now)
                session.add(customer)
                await session.flush()
            else:
                customer = min(owners.values(), key=lambda c: (c.created_at, c.id))
                if name and not customer.name:
                    customer.name = name
            merged = tuple(sorted(cid for cid in owners if cid != customer.id))
            for other in merged:
                owners[other].merged_into = customer.id
                await session.execute(
                    update(IdentityRow)
                    .where(IdentityRow.customer_id == other)
                    .values(customer_id=customer.id)
                )
                await session.execute(
                    update(ContactRow)
                    .where(ContactRow.customer_id == other)
                    .values(customer_id=customer.id)
                )
            present = {(row.kind, row.value) for row in known}
            for kind, value in sorted(wanted - present):
                session.add(
                    IdentityRow(kind=kind, value=value, customer_id=customer.id, created_at=now)
                )
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
