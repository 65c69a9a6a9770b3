"""Merging two customers by hand, and undoing any merge (automatic or by hand) from the
merge history (``customer_merges``, written by router/store/customers.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from router.store.audit import CUSTOMER_AUDIT as AUDIT
from router.store.audit import audit_row
from router.store.customers import record_merge
from router.store.errors import CustomerRecordError
from router.store.journal import Commit
from router.store.schema import ContactRow, CustomerRow, IdentityRow, MergeRow


@dataclass(frozen=True, slots=True)
class MergeResult:
    merge_id: int
    primary_id: str
    merged_id: str
    identities: list[str]
    contacts: list[str]


class CustomerMerges:
    def __init__(self, commit: Commit) -> None:
        self._commit = commit

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
            if result == "unknown":
                raise CustomerRecordError(f"no customer {primary_id!r} or {other_id!r}", 404)
            raise CustomerRecordError(
                "a merged customer cannot be merged again: use its primary", 409
            )
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
