"""Routing decisions as row changes, and the journal unit that applies them in order.

Written as Core statements on the tables with parameters given at execution, so they are
compiled once and cached (the ORM's per-call work is not on the hot path).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.engine import Connection

from router.store.schema import ContactRow, OfferRow, OutboxEventRow, RoutingEventRow


@dataclass(frozen=True, slots=True)
class ContactUpdate:
    contact_id: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OfferInsert:
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OfferUpdate:
    offer_id: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventInsert:
    contact_id: str
    at: float
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxInsert:
    """A gateway event, committed with the decision it announces (router/outbox/)."""

    values: dict[str, Any]


Change = ContactUpdate | OfferInsert | OfferUpdate | EventInsert | OutboxInsert


CONTACTS: Table = ContactRow.__table__  # type: ignore[assignment]
OFFERS: Table = OfferRow.__table__  # type: ignore[assignment]
EVENTS: Table = RoutingEventRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxEventRow.__table__  # type: ignore[assignment]

UPDATE_CONTACT = update(CONTACTS).where(CONTACTS.c.id == bindparam("change_id"))
UPDATE_OFFER = update(OFFERS).where(OFFERS.c.id == bindparam("change_id"))
INSERT_OFFER = insert(OFFERS)
INSERT_EVENTS = insert(EVENTS)
INSERT_OUTBOX = insert(OUTBOX)


def changes_work(changes: Sequence[Change]) -> Callable[[Connection], None]:
    def apply_changes(connection: Connection) -> None:
        events: list[dict[str, Any]] = []
        for change in changes:
            if isinstance(change, EventInsert):
                events.append(
                    {
                        "contact_id": change.contact_id,
                        "at": change.at,
                        "kind": change.kind,
                        "detail": change.detail,
                    }
                )
                continue
            if events:  # keep the order: events written before the next row change
                connection.execute(INSERT_EVENTS, events)
                events = []
            if isinstance(change, ContactUpdate):
                connection.execute(
                    UPDATE_CONTACT, {"change_id": change.contact_id, **change.values}
                )
            elif isinstance(change, OfferInsert):
                connection.execute(INSERT_OFFER, change.values)
            elif isinstance(change, OutboxInsert):
                connection.execute(INSERT_OUTBOX, change.values)
            else:
                connection.execute(UPDATE_OFFER, {"change_id": change.offer_id, **change.values})
        if events:
            connection.execute(INSERT_EVENTS, events)

    return apply_changes
