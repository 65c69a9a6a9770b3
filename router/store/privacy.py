"""Personal data: export everything held about a customer, erase it, purge old texts.

- **Export** gathers every record about the customer (and customers merged into them):
  the customer, notes, identities, contacts with their messages, feedback, follow-ups,
  conversation keys, merges and the audit trail.
- **Erasure** removes or anonymises the customer's data in the database, in one journal
  unit: identities, notes, merge history and the customer rows are deleted; their
  contacts keep only what aggregate statistics need (channel, queue, times, agent, state,
  resolved, CSAT/NPS scores) and lose texts, subjects, customer details, attributes,
  triage details, notes, free-text outcomes, gateway message ids, messages and
  conversation keys. A customer with a live contact is not erased (409): end it first.
  What lives outside the database (node caches, Redis streams) is cleared by the caller
  from the ``Erasure`` this returns (router/customer_changes.py); docs/privacy.md says
  what happens to backups and logs.
- **Retention**: finished contacts older than N days lose their texts and messages
  (``retention`` in config.yaml; router/retention.py runs it).

The audit trail (``customer_audit``) holds no personal data, so it survives an erasure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.store.audit import CUSTOMER_AUDIT as AUDIT
from router.store.audit import audit_row
from router.store.customer_views import FINISHED, OUTCOME_LABELS
from router.store.journal import Commit
from router.store.schema import (
    ContactRow,
    CustomerAuditRow,
    CustomerNoteRow,
    CustomerRow,
    FeedbackRow,
    FollowUpRow,
    IdentityRow,
    MergeRow,
    MessageRow,
    OutboxEventRow,
    ReplyRow,
    RoutingEventRow,
    ThreadRow,
)

PURGE_BATCH = 500
ERASED_TRIAGE_KEYS = (
    "rule",
    "rules_tried",
    "queue",
    "language",
    "language_source",
    "intent",
    "intent_source",
    "urgency",
    "intent_urgency",
    "moment_of_truth",
    "extra_skills",
    "history_boost",
    "preferred_agent",
)
"""Triage facts kept on an erased contact (routing explanation without personal data)."""


@dataclass(frozen=True, slots=True)
class Erasure:
    status: str  # erased | unknown | live (a contact) | replying (a reply still going out)
    customer_ids: tuple[str, ...] = ()
    contact_ids: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    chat_sessions: tuple[str, ...] = ()  # web chats' session ids (their message ids)


def _rows(
    connection: Connection, table: Any, column: Any, ids: Sequence[str]
) -> list[dict[str, Any]]:
    if not ids:
        return []
    return [
        dict(row) for row in connection.execute(select(table).where(column.in_(ids))).mappings()
    ]


def _group(connection: Connection, customer_id: str) -> list[str]:
    """The customer as it stands now (following merges) and every customer merged into it."""
    customers = ContactRow.metadata.tables["customers"]
    current, seen = customer_id, set()
    while current not in seen:
        seen.add(current)
        row = connection.execute(
            select(customers.c.merged_into).where(customers.c.id == current)
        ).first()
        if row is None:
            return []
        if row.merged_into is None:
            break
        current = row.merged_into
    group, frontier = [current], [current]
    while frontier:
        found = (
            connection.execute(select(customers.c.id).where(customers.c.merged_into.in_(frontier)))
            .scalars()
            .all()
        )
        frontier = [cid for cid in found if cid not in group]
        group.extend(frontier)
    return group


def _table(model: Any) -> Any:
    return model.__table__


REPLIES_IN_FLIGHT = ("pending", "sending")
EVENT_DATA_KEPT = ("agent_id", "queue", "state", "resolved", "reason", "presence", "seconds")


def redacted_event(payload: dict[str, Any]) -> dict[str, Any]:
    """A gateway event of an erased contact: ids, type and times stay, what the customer
    or the agent said goes, and the gateway's message id too."""
    contact = dict(payload.get("contact") or {})
    if contact.get("external_id"):
        contact["external_id"] = f"erased:{contact.get('id')}"
    data = payload.get("data") or {}
    kept = {key: value for key, value in data.items() if key in EVENT_DATA_KEPT}
    return {**payload, "contact": contact, "data": {**kept, "erased": True}}


class Privacy:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit

    async def export(self, customer_id: str) -> dict[str, Any] | None:
        """All data held about the customer, JSON-ready; None: unknown customer."""
        async with self._sessions() as session:
            return await session.run_sync(lambda s: self._export(s.connection(), customer_id))

    def _export(self, connection: Connection, customer_id: str) -> dict[str, Any] | None:
        group = _group(connection, customer_id)
        if not group:
            return None
        contacts = _rows(connection, _table(ContactRow), ContactRow.customer_id, group)
        contact_ids = [row["id"] for row in contacts]
        messages = _rows(connection, _table(MessageRow), MessageRow.contact_id, contact_ids)
        by_contact: dict[str, list[dict[str, Any]]] = {}
        for message in sorted(messages, key=lambda m: (m["at"], m["id"])):
            by_contact.setdefault(message["contact_id"], []).append(message)
        for contact in contacts:
            contact["messages"] = by_contact.get(contact["id"], [])
        identities = _rows(connection, _table(IdentityRow), IdentityRow.customer_id, group)
        return {
            "format": "centralino.customer-export/1",
            "customer_id": group[0],
            "customers": _rows(connection, _table(CustomerRow), CustomerRow.id, group),
            "notes": _rows(connection, _table(CustomerNoteRow), CustomerNoteRow.customer_id, group),
            "identities": identities,
            "contacts": sorted(contacts, key=lambda c: c["arrival"]),
            "feedback": _rows(connection, _table(FeedbackRow), FeedbackRow.contact_id, contact_ids),
            "follow_ups": _rows(
                connection, _table(FollowUpRow), FollowUpRow.contact_id, contact_ids
            ),
            "conversation_keys": _rows(
                connection, _table(ThreadRow), ThreadRow.contact_id, contact_ids
            ),
            "merges": _rows(connection, _table(MergeRow), MergeRow.primary_id, group)
            + _rows(connection, _table(MergeRow), MergeRow.merged_id, group),
            "audit": _rows(
                connection, _table(CustomerAuditRow), CustomerAuditRow.customer_id, group
            ),
        }

    async def erase(self, customer_id: str, now: float, by: str) -> Erasure:
        return await self._commit(lambda connection: self._erase(connection, customer_id, now, by))

    def _erase(self, connection: Connection, customer_id: str, now: float, by: str) -> Erasure:
        group = _group(connection, customer_id)
        if not group:
            return Erasure("unknown")
        contacts = connection.execute(
            select(
                ContactRow.id,
                ContactRow.state,
                ContactRow.outcome,
                ContactRow.triage,
                ContactRow.channel,
                ContactRow.external_id,
            ).where(ContactRow.customer_id.in_(group))
        ).all()
        live = tuple(row.id for row in contacts if row.state not in FINISHED)
        if live:
            return Erasure("live", tuple(group), live)
        ids = [row.id for row in contacts]
        sending = tuple(
            connection.execute(
                select(ReplyRow.id).where(
                    ReplyRow.contact_id.in_(ids), ReplyRow.status.in_(REPLIES_IN_FLIGHT)
                )
            ).scalars()
        )
        if sending:
            return Erasure("replying", tuple(group), sending)
        counts = {"customers": len(group), "contacts": len(ids)}
        for row in contacts:
            triage = {k: v for k, v in (row.triage or {}).items() if k in ERASED_TRIAGE_KEYS}
            outcome = (
                row.outcome if row.outcome in OUTCOME_LABELS or not row.outcome else "(erased)"
            )
            connection.execute(
                update(ContactRow)
                .where(ContactRow.id == row.id)
                .values(
                    customer_id=None,
                    customer={},
                    subject="",
                    text="",
                    attributes={},
                    notes="",
                    outcome=outcome,
                    triage={**triage, "erased": True},
                    external_id=f"erased:{row.id}",
                    updated_at=now,
                )
            )
        for name, statement in (
            ("messages", delete(MessageRow).where(MessageRow.contact_id.in_(ids))),
            ("conversation_keys", delete(ThreadRow).where(ThreadRow.contact_id.in_(ids))),
            ("identities", delete(IdentityRow).where(IdentityRow.customer_id.in_(group))),
            ("notes", delete(CustomerNoteRow).where(CustomerNoteRow.customer_id.in_(group))),
            (
                "merges",
                delete(MergeRow).where(
                    MergeRow.primary_id.in_(group) | MergeRow.merged_id.in_(group)
                ),
            ),
            (
                "follow_ups",
                delete(FollowUpRow).where(
                    FollowUpRow.contact_id.in_(ids), FollowUpRow.created_contact_id.is_(None)
                ),
            ),
        ):
            counts[name] = connection.execute(statement).rowcount
        connection.execute(
            update(FollowUpRow).where(FollowUpRow.contact_id.in_(ids)).values(note="")
        )
        counts["replies"] = connection.execute(
            update(ReplyRow)
            .where(ReplyRow.contact_id.in_(ids))
            .values(
                recipient="",
                text="",
                subject="",
                message_id="",
                in_reply_to="",
                thread_refs=[],
                template={},
                reason="",
                provider_id="",
            )
        ).rowcount
        for event in connection.execute(
            select(OutboxEventRow.seq, OutboxEventRow.payload).where(
                OutboxEventRow.contact_id.in_(ids)
            )
        ).all():
            connection.execute(
                update(OutboxEventRow)
                .where(OutboxEventRow.seq == event.seq)
                .values(payload=redacted_event(event.payload or {}))
            )
        counts["feedback_comments"] = connection.execute(
            update(FeedbackRow)
            .where(FeedbackRow.contact_id.in_(ids), FeedbackRow.comment != "")
            .values(comment="")
        ).rowcount
        for event in connection.execute(
            select(RoutingEventRow.id, RoutingEventRow.detail).where(
                RoutingEventRow.contact_id.in_(ids), RoutingEventRow.kind == "completed"
            )
        ).all():
            said = (event.detail or {}).get("outcome")
            if said and said not in OUTCOME_LABELS:
                connection.execute(
                    update(RoutingEventRow)
                    .where(RoutingEventRow.id == event.id)
                    .values(detail={**event.detail, "outcome": "(erased)"})
                )
        connection.execute(  # who linked what: identities in the explain log
            update(RoutingEventRow)
            .where(RoutingEventRow.contact_id.in_(ids), RoutingEventRow.kind == "customer_linked")
            .values(detail={"erased": True})
        )
        connection.execute(delete(_table(CustomerRow)).where(CustomerRow.id.in_(group)))
        for cid in group:
            connection.execute(insert(AUDIT), audit_row(cid, now, "erased", by, **counts))
        sessions = tuple(row.external_id for row in contacts if row.channel == "chat")
        return Erasure("erased", tuple(group), tuple(ids), counts, sessions)

    async def purge(self, before: float, now: float) -> dict[str, int]:
        """Retention: finished contacts that arrived before ``before`` lose their texts;
        messages, feedback comments and the texts of agents' replies older than that go.
        In batches, each a unit."""
        total = {"contacts": 0, "messages": 0, "feedback_comments": 0, "replies": 0}
        while True:
            counts = await self._commit(lambda connection: self._purge(connection, before, now))
            for key, value in counts.items():
                total[key] += value
            if counts["contacts"] < PURGE_BATCH and counts["messages"] < PURGE_BATCH:
                return total

    def _purge(self, connection: Connection, before: float, now: float) -> dict[str, int]:
        rows = connection.execute(
            select(ContactRow.id, ContactRow.triage)
            .where(
                ContactRow.arrival < before,
                ContactRow.state.in_(FINISHED),
                (ContactRow.text != "") | (ContactRow.subject != "") | (ContactRow.notes != ""),
            )
            .limit(PURGE_BATCH)
        ).all()
        for row in rows:
            triage = {
                k: v for k, v in (row.triage or {}).items() if k not in ("history", "emotion")
            }
            connection.execute(
                update(ContactRow)
                .where(ContactRow.id == row.id)
                .values(text="", subject="", notes="", triage={**triage, "purged_at": now})
            )
        old = (
            connection.execute(
                select(MessageRow.id).where(MessageRow.at < before).limit(PURGE_BATCH)
            )
            .scalars()
            .all()
        )
        if old:
            connection.execute(delete(MessageRow).where(MessageRow.id.in_(old)))
        comments = connection.execute(
            update(FeedbackRow)
            .where(FeedbackRow.at < before, FeedbackRow.comment != "")
            .values(comment="")
        ).rowcount
        replies = connection.execute(
            update(ReplyRow)
            .where(
                ReplyRow.created_at < before,
                ReplyRow.status.not_in(REPLIES_IN_FLIGHT),
                (ReplyRow.text != "") | (ReplyRow.subject != ""),
            )
            .values(text="", subject="", template={})
        ).rowcount
        return {
            "contacts": len(rows),
            "messages": len(old),
            "feedback_comments": comments,
            "replies": replies,
        }
