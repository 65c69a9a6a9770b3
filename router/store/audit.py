"""The audit trail of decisions people make about who a customer is.

Customer-level actions (changes, merges, exports, erasures) go to ``customer_audit`` as
rows built by ``audit_row``; see docs/privacy.md.

An agent linking an unverified customer (a web chat without the site's signature) to the
identities it claimed is recorded as a ``customer_linked`` event of that contact, in the
same table as its routing decisions, so ``explain`` shows who linked what, when and why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from router.store.errors import StoreError
from router.store.schema import CustomerAuditRow, RoutingEventRow

CUSTOMER_LINKED = "customer_linked"
CUSTOMER_AUDIT: Table = CustomerAuditRow.__table__  # type: ignore[assignment]
"""Customer changes, exports and erasures (router/store/customer_records.py, privacy.py):
one row each, written in the same journal unit as the change."""


def audit_row(customer_id: str, at: float, action: str, by: str, **detail: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "at": at, "action": action, "by": by, "detail": detail}


class AuditTrail:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def record(self, contact_id: str, at: float, kind: str, detail: dict[str, Any]) -> None:
        try:
            async with self._sessions.begin() as session:
                session.add(RoutingEventRow(contact_id=contact_id, at=at, kind=kind, detail=detail))
        except SQLAlchemyError as exc:
            raise StoreError(f"audit trail: {exc}") from exc
