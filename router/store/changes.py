"""Routing decisions as row changes (router/store/change_batch.py writes them).

Written as Core statements on the tables with parameters given at execution, so they are
compiled once and cached (the ORM's per-call work is not on the hot path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert

from router.store.schema import (
    AgentStateRow,
    ContactRow,
    OfferRow,
    OutboxEventRow,
    RoutingEventRow,
)


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


@dataclass(frozen=True, slots=True)
class AgentStateInsert:
    values: dict[str, Any]


PLANNED_COLUMNS = (
    "queue",
    "rule",
    "policy",
    "triage",
    "history_boost",
    "preferred_agent",
    "state",
    "updated_at",
)
"""The columns a plan writes (its values may hold the contact's whole row)."""


@dataclass(frozen=True, slots=True)
class ContactPlan:
    """The router's plan of a ``received`` contact (queue, rule, policy, explanation; state
    ``queued``). Fails if the contact is no longer ``received``: the engine routes it, so
    the record must say so (a failed change makes the router reload from the record)."""

    contact_id: str
    values: dict[str, Any]


class PlanConflict(LookupError):
    """A plan for a contact that is not ``received`` (planned twice, or finished)."""


Change = (
    ContactUpdate
    | OfferInsert
    | OfferUpdate
    | EventInsert
    | OutboxInsert
    | AgentStateInsert
    | ContactPlan
)


CONTACTS: Table = ContactRow.__table__  # type: ignore[assignment]
OFFERS: Table = OfferRow.__table__  # type: ignore[assignment]
EVENTS: Table = RoutingEventRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxEventRow.__table__  # type: ignore[assignment]

INSERT_OFFER = insert(OFFERS)
INSERT_EVENTS = insert(EVENTS)
INSERT_OUTBOX = insert(OUTBOX)
AGENT_STATES: Table = AgentStateRow.__table__  # type: ignore[assignment]
INSERT_AGENT_STATE = insert(AGENT_STATES)
