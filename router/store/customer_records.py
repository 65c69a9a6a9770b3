"""The customer 360: read, search and correct a customer (name, notes, identities), merge
two customers and undo a merge.

Reads use the store's reader sessions; every change is one journal unit (Store.commit)
that also writes its audit row (``customer_audit``), so a change and the record of who
made it commit together. Lookups never raise inside a unit: a unit answers with what it
found and the caller turns that into an error, so one bad request never fails a batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from router.states import FINISHED_STATES
from router.store.customers import record_merge
from router.store.errors import StoreError
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

T = TypeVar("T")


class Commit(Protocol):
    """Store.commit: run a unit of work in the journal, wait for its commit."""

    def __call__(self, work: Callable[[Connection], T], /) -> Awaitable[T]: ...


HISTORY_LIMIT = 50
FINISHED = [state.value for state in FINISHED_STATES]

OUTCOME_LABELS = {
    "wrap_up_timeout": "closed automatically: no wrap-up in time",
}
STATE_LABELS = {
    "queued": "waiting",
    "offered": "being offered",
    "assigned": "in progress",
    "wrap_up": "in wrap-up",
    "abandoned": "customer left before an answer",
}


class CustomerRecordError(StoreError):
    """A customer change that cannot be made; ``status`` is the HTTP answer it calls for."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def outcome_label(state: str, outcome: str | None) -> str:
    """What an agent reads in a history line: never a raw code."""
    if outcome:
        return OUTCOME_LABELS.get(outcome, outcome)
    return STATE_LABELS.get(state, state)


def history_entry(row: ContactRow, csat: int | None) -> dict[str, Any]:
    """One dated line of a customer's history (the desktop and the 360 show the same)."""
    return {
        "contact_id": row.id,
        "at": row.arrival,
        "arrival": row.arrival,
        "channel": row.channel,
        "subject": row.subject[:120],
        "queue": row.queue,
        "agent_id": row.agent_id,
        "state": row.state,
        "outcome": row.outcome,
        "outcome_label": outcome_label(row.state, row.outcome),
        "resolved": row.resolved,
        "csat": csat,
    }


def open_case_of(rows: Sequence[ContactRow]) -> dict[str, Any] | None:
    """The customer's open case (rows newest first): a live contact, else the latest
    handled contact if it ended unresolved."""
    for row in rows:
        if row.state not in FINISHED:
            return {
                "contact_id": row.id,
                "queue": row.queue,
                "agent_id": row.agent_id,
                "since": row.arrival,
                "state": row.state,
                "subject": row.subject[:120],
            }
    for row in rows:
        if row.agent_id is None or row.resolved is None:
            continue
        if row.resolved:
            return None
        return {
            "contact_id": row.id,
            "queue": row.queue,
            "agent_id": row.agent_id,
            "since": row.arrival,
            "state": row.state,
            "subject": row.subject[:120],
        }
    return None


def audit_row(customer_id: str, at: float, action: str, by: str, **detail: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "at": at, "action": action, "by": by, "detail": detail}


AUDIT: Table = CustomerAuditRow.__table__  # type: ignore[assignment]
IDENTITIES: Table = IdentityRow.__table__  # type: ignore[assignment]
NOTES: Table = CustomerNoteRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class MergeResult:
    merge_id: int
    primary_id: str
    merged_id: str
    identities: list[str]
    contacts: list[str]


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

    async def merge(self, primary_id: str, other_id: str, now: float, by: str) -> MergeResult:
        """Fold ``other_id`` into ``primary_id`` (identities and contacts follow)."""

        def merge(connection: Connection) -> MergeResult | str:
            with Session(bind=connection, join_transaction_mode="rollback_only") as session:
                rows = {cid: session.get(CustomerRow, cid) for cid in (primary_id, other_id)}
                if any(row is None for row in rows.values()):
                    return "unknown"
                if any(row.merged_into is not None for row in rows.values() if row):
                    return "merged"
                if primary_id == other_id:
                    return "same"
                record_merge(session, primary_id, other_id, now, by)
                session.flush()
                merge = session.execute(
                    select(MergeRow)
                    .where(MergeRow.merged_id == other_id)
                    .order_by(MergeRow.id.desc())
                    .limit(1)
                ).scalar_one()
                session.execute(
                    update(IdentityRow)
                    .where(IdentityRow.customer_id == other_id)
                    .values(customer_id=primary_id)
                )
                session.execute(
                    update(ContactRow)
                    .where(ContactRow.customer_id == other_id)
                    .values(customer_id=primary_id)
                )
                session.execute(
                    update(CustomerRow)
                    .where(CustomerRow.id == other_id)
                    .values(merged_into=primary_id)
                )
                for cid in (primary_id, other_id):
                    session.execute(
                        insert(AUDIT),
                        audit_row(
                            cid,
                            now,
                            "merged",
                            by,
                            merge_id=merge.id,
                            primary_id=primary_id,
                            merged_id=other_id,
                        ),
                    )
                session.flush()
                return MergeResult(
                    merge.id,
                    primary_id,
                    other_id,
                    [f"{k}:{v}" for k, v in merge.identities],
                    list(merge.contacts),
                )

        result = await self._commit(merge)
        if isinstance(result, str):
            if result == "same":
                raise CustomerRecordError("a customer cannot be merged into itself", 409)
            self._check(result, f"{primary_id} or {other_id}")
        assert isinstance(result, MergeResult)
        return result

    async def unmerge(self, merge_id: int, now: float, by: str) -> MergeResult:
        """Undo a merge: the merged customer gets back the identities and the contacts it
        brought (contacts that arrived later stay with the primary: who they were is not
        known)."""

        def unmerge(connection: Connection) -> MergeResult | str:
            with Session(bind=connection, join_transaction_mode="rollback_only") as session:
                merge = session.get(MergeRow, merge_id)
                if merge is None:
                    return "no_merge"
                if merge.undone_at is not None:
                    return "undone"
                merged = session.get(CustomerRow, merge.merged_id)
                if merged is None:
                    return "no_merge"
                moved: list[str] = []
                for kind, value in merge.identities:
                    row = session.get(IdentityRow, (kind, value))
                    if row is not None and row.customer_id != merge.merged_id:
                        row.customer_id = merge.merged_id
                        moved.append(f"{kind}:{value}")
                contacts = list(merge.contacts)
                if contacts:
                    session.execute(
                        update(ContactRow)
                        .where(ContactRow.id.in_(contacts), ContactRow.customer_id.is_not(None))
                        .values(customer_id=merge.merged_id)
                    )
                merged.merged_into = None
                merge.undone_at, merge.undone_by = now, by
                for cid in (merge.primary_id, merge.merged_id):
                    session.execute(
                        insert(AUDIT),
                        audit_row(
                            cid,
                            now,
                            "unmerged",
                            by,
                            merge_id=merge.id,
                            primary_id=merge.primary_id,
                            merged_id=merge.merged_id,
                        ),
                    )
                session.flush()
                return MergeResult(merge.id, merge.primary_id, merge.merged_id, moved, contacts)

        result = await self._commit(unmerge)
        if result == "no_merge":
            raise CustomerRecordError(f"no merge {merge_id}", 404)
        if result == "undone":
            raise CustomerRecordError(f"merge {merge_id} was already undone", 409)
        assert isinstance(result, MergeResult)
        return result

    @staticmethod
    def _check(result: str, customer_id: str) -> None:
        if result == "unknown":
            raise CustomerRecordError(f"no customer {customer_id!r}", 404)
        if result == "merged":
            raise CustomerRecordError(
                f"customer {customer_id!r} was merged into another: change that one", 409
            )


def merge_view(row: MergeRow) -> dict[str, Any]:
    return {
        "merge_id": row.id,
        "primary_id": row.primary_id,
        "merged_id": row.merged_id,
        "at": row.at,
        "by": row.by,
        "identities": [f"{kind}:{value}" for kind, value in row.identities],
        "contacts": len(row.contacts),
        "undone_at": row.undone_at,
        "undone_by": row.undone_by,
    }
