"""The customer 360: read, search and correct a customer (name, notes, identities);
merging and unmerging are in router/store/merges.py.

Reads use the store's reader sessions; every change is one journal unit (Store.commit)
that also writes its audit row (``customer_audit``), so a change and the record of who
made it commit together. Lookups never raise inside a unit: a unit answers with what it
found and the caller turns that into an error, so one bad request never fails a batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.audit import CUSTOMER_AUDIT as AUDIT
from router.store.audit import audit_row
from router.store.customer_views import HISTORY_LIMIT, history_entry, merge_view, open_case_of
from router.store.errors import CustomerRecordError
from router.store.journal import Commit
from router.store.schema import (
    ContactRow,
    CustomerAuditRow,
    CustomerNoteRow,
    CustomerRow,
    FeedbackRow,
    IdentityRow,
    MergeRow,
)
from skills.identity import Identity

IDENTITIES: Table = IdentityRow.__table__  # type: ignore[assignment]
NOTES: Table = CustomerNoteRow.__table__  # type: ignore[assignment]


class CustomerRecords:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], commit: Commit, dialect: str
    ) -> None:
        self._sessions = sessions
        self._commit = commit
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    # ------------------------------------------------------------------ reading

    async def primary_id(self, customer_id: str) -> str | None:
        """The customer this id stands for now (following merges); None if unknown."""
        async with self._sessions() as session:
            seen: set[str] = set()
            current: str | None = customer_id
            while current is not None and current not in seen:
                seen.add(current)
                row = await session.get(CustomerRow, current)
                if row is None:
                    return None
                if row.merged_into is None:
                    return row.id
                current = row.merged_into
        return None

    async def profile(self, customer_id: str, limit: int = HISTORY_LIMIT) -> dict[str, Any] | None:
        """Everything an agent or admin sees about a customer (None: unknown id)."""
        primary = await self.primary_id(customer_id)
        if primary is None:
            return None
        async with self._sessions() as session:
            customer = await session.get(CustomerRow, primary)
            if customer is None:
                return None
            note = await session.get(CustomerNoteRow, primary)
            identities = (
                (
                    await session.execute(
                        select(IdentityRow)
                        .where(IdentityRow.customer_id == primary)
                        .order_by(IdentityRow.kind, IdentityRow.value)
                    )
                )
                .scalars()
                .all()
            )
            rows = (
                await session.execute(
                    select(ContactRow, FeedbackRow.csat)
                    .outerjoin(FeedbackRow, FeedbackRow.contact_id == ContactRow.id)
                    .where(ContactRow.customer_id == primary)
                    .order_by(ContactRow.arrival.desc())
                    .limit(limit)
                )
            ).all()
            total = (
                await session.execute(
                    select(func.count())
                    .select_from(ContactRow)
                    .where(ContactRow.customer_id == primary)
                )
            ).scalar_one()
            merges = (
                (
                    await session.execute(
                        select(MergeRow)
                        .where((MergeRow.primary_id == primary) | (MergeRow.merged_id == primary))
                        .order_by(MergeRow.id)
                    )
                )
                .scalars()
                .all()
            )
        return {
            "customer_id": primary,
            "requested_id": customer_id,
            "name": customer.name,
            "notes": note.notes if note else "",
            "created_at": customer.created_at,
            "identities": [
                {"kind": row.kind, "value": row.value, "since": row.created_at}
                for row in identities
            ],
            "open_case": open_case_of([row for row, _ in rows]),
            "contacts": total,
            "history": [history_entry(row, csat) for row, csat in rows],
            "merges": [merge_view(row) for row in merges],
        }

    async def search(self, identity: Identity) -> list[dict[str, Any]]:
        """Customers holding this identity (at most one: identities are unique)."""
        async with self._sessions() as session:
            row = await session.get(IdentityRow, (identity.kind, identity.value))
        if row is None:
            return []
        found = await self.profile(row.customer_id, limit=5)
        return [found] if found else []

    async def audit(self, customer_id: str) -> list[dict[str, Any]]:
        async with self._sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(CustomerAuditRow)
                        .where(CustomerAuditRow.customer_id == customer_id)
                        .order_by(CustomerAuditRow.id)
                    )
                )
                .scalars()
                .all()
            )
        return [
            {"at": row.at, "action": row.action, "by": row.by, "detail": row.detail} for row in rows
        ]

    async def record(
        self, customer_id: str, at: float, action: str, by: str, **detail: Any
    ) -> None:
        """An audit row on its own (an export, a link made by the desktop)."""

        def write(connection: Connection) -> None:
            connection.execute(insert(AUDIT), audit_row(customer_id, at, action, by, **detail))

        await self._commit(write)

    # ------------------------------------------------------------------ changes

    async def update(
        self, customer_id: str, now: float, by: str, name: str | None, notes: str | None
    ) -> None:
        def change(connection: Connection) -> str:
            customer = connection.execute(
                select(CustomerRow.merged_into).where(CustomerRow.id == customer_id)
            ).first()
            if customer is None:
                return "unknown"
            if customer.merged_into is not None:
                return "merged"
            fields = []
            if name is not None:
                connection.execute(
                    update(CustomerRow).where(CustomerRow.id == customer_id).values(name=name)
                )
                fields.append("name")
            if notes is not None:
                statement = self._insert(NOTES).values(
                    customer_id=customer_id, notes=notes, updated_at=now
                )
                connection.execute(
                    statement.on_conflict_do_update(
                        index_elements=["customer_id"],
                        set_={"notes": notes, "updated_at": now},
                    )
                )
                fields.append("notes")
            connection.execute(
                insert(AUDIT), audit_row(customer_id, now, "updated", by, fields=fields)
            )
            return "ok"

        self._check(await self._commit(change), customer_id)

    async def add_identity(self, customer_id: str, identity: Identity, now: float, by: str) -> bool:
        """Give the customer this identity; False if it already had it. 409 if another
        customer holds it (merge them instead), decided by the unique key (kind, value)."""
        statement = self._insert(IDENTITIES).on_conflict_do_nothing(
            index_elements=["kind", "value"]
        )

        def add(connection: Connection) -> str:
            merged = connection.execute(
                select(CustomerRow.merged_into).where(CustomerRow.id == customer_id)
            ).first()
            if merged is None:
                return "unknown"
            if merged.merged_into is not None:
                return "merged"
            values = {
                "kind": identity.kind,
                "value": identity.value,
                "customer_id": customer_id,
                "created_at": now,
            }
            if connection.execute(statement, values).rowcount == 1:
                connection.execute(
                    insert(AUDIT),
                    audit_row(customer_id, now, "identity_added", by, kind=identity.kind),
                )
                return "added"
            owner = connection.execute(
                select(IDENTITIES.c.customer_id).where(
                    IDENTITIES.c.kind == identity.kind, IDENTITIES.c.value == identity.value
                )
            ).scalar_one_or_none()
            return "present" if owner == customer_id else "taken"

        result = await self._commit(add)
        if result == "taken":
            raise CustomerRecordError(
                f"{identity.kind} identity belongs to another customer: merge the two instead",
                409,
            )
        self._check(result, customer_id)
        return result == "added"

    async def remove_identity(
        self, customer_id: str, identity: Identity, now: float, by: str
    ) -> None:
        def remove(connection: Connection) -> str:
            gone = connection.execute(
                delete(IDENTITIES).where(
                    IDENTITIES.c.kind == identity.kind,
                    IDENTITIES.c.value == identity.value,
                    IDENTITIES.c.customer_id == customer_id,
                )
            )
            if gone.rowcount != 1:
                return "missing"
            connection.execute(
                insert(AUDIT),
                audit_row(customer_id, now, "identity_removed", by, kind=identity.kind),
            )
            return "ok"

        if await self._commit(remove) == "missing":
            raise CustomerRecordError("this customer has no such identity", 404)

    @staticmethod
    def _check(result: str, customer_id: str) -> None:
        if result == "unknown":
            raise CustomerRecordError(f"no customer {customer_id!r}", 404)
        if result == "merged":
            raise CustomerRecordError(
                f"customer {customer_id!r} was merged into another: change that one", 409
            )
