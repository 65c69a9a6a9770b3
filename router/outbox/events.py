"""What a gateway learns of a routing decision: the event schema (see README, "Connecting
decisions back to your platform").

An event is built when the decision is made and committed in the same transaction (the
recorder's unit), so a decision that is never committed is never announced, and a crash
after the commit loses nothing: delivery reads the committed events.

    {"id": "evt_…", "type": "contact.assigned", "at": 1764650000.123,
     "contact": {"id", "gateway", "external_id", "channel"},
     "data": {...}}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    Decision,
    Offered,
    Queued,
    Transferred,
)
from router.ids import ordered_id

EventType = Literal[
    "contact.queued",
    "contact.offered",
    "contact.assigned",
    "contact.transferred",
    "contact.abandoned",
    "contact.completed",
    "contact.message",
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

# Queued decisions that are no news to a gateway: the arrival is announced with the stored
# contact itself (see ``arrival_event``); the others re-place a contact that was waiting.
QUIET_QUEUED = frozenset({"arrival", "restored", "expansion", "preferred_wait_over"})

ContextOf = Callable[[str], Mapping[str, Any] | None]
AgentOf = Callable[[str], Mapping[str, Any]]


def new_event_id() -> str:
    return f"evt_{ordered_id()}"


@dataclass(frozen=True, slots=True)
class GatewayEvent:
    event_id: str
    contact_id: str
    type: str
    at: float
    payload: dict[str, Any]

    def as_row(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "contact_id": self.contact_id,
            "type": self.type,
            "at": self.at,
            "payload": self.payload,
        }


def contact_part(contact_id: str, context: Mapping[str, Any] | None) -> dict[str, Any]:
    context = context or {}
    return {
        "id": contact_id,
        "gateway": context.get("gateway"),
        "external_id": context.get("external_id"),
        "channel": context.get("channel"),
    }


def event(
    kind: str, contact_id: str, at: float, context: Mapping[str, Any] | None, data: dict[str, Any]
) -> GatewayEvent:
    event_id = new_event_id()
    payload = {
        "id": event_id,
        "type": kind,
        "at": round(at, 3),
        "contact": contact_part(contact_id, context),
        "data": data,
    }
    return GatewayEvent(event_id, contact_id, kind, at, payload)


class EventBuilder:
    """Decisions -> gateway events, with what the gateway needs to act on them (its own ids
    for the contact, the agent's routing endpoint)."""

    def __init__(self, context_of: ContextOf, agent_of: AgentOf) -> None:
        self.context_of = context_of
        self.agent_of = agent_of

    def build(self, now: float, decision: Decision) -> GatewayEvent | None:
        data = self._data(decision)
        if data is None:
            return None
        kind, contact_id, body = data
        return event(kind, contact_id, now, self.context_of(contact_id), body)

    def _data(self, decision: Decision) -> tuple[str, str, dict[str, Any]] | None:
        if isinstance(decision, Queued):
            if decision.reason in QUIET_QUEUED:
                return None
            return (
                "contact.queued",
                decision.contact_id,
                {
                    "queue": decision.queue,
                    "reason": decision.reason,
                },
            )
        if isinstance(decision, Offered):
            return (
                "contact.offered",
                decision.contact_id,
                {
                    "offer_id": decision.offer_id,
                    "agent_id": decision.agent_id,
                    "expires_at": round(decision.expires_at, 3),
                },
            )
        if isinstance(decision, Assigned):
            return (
                "contact.assigned",
                decision.contact_id,
                {
                    "offer_id": decision.offer_id,
                    "agent": {"id": decision.agent_id, **self.agent_of(decision.agent_id)},
                    "waited_seconds": round(decision.waited, 3),
                },
            )
        if isinstance(decision, Transferred):
            return (
                "contact.transferred",
                decision.contact_id,
                {
                    "from_agent": decision.from_agent,
                    "target": decision.target,
                    "queue": decision.policy.queue,
                    "transfers": decision.transfers,
                },
            )
        if isinstance(decision, Abandoned):
            return (
                "contact.abandoned",
                decision.contact_id,
                {"waited_seconds": round(decision.waited, 3)},
            )
        if isinstance(decision, Completed):
            return (
                "contact.completed",
                decision.contact_id,
                {
                    "agent_id": decision.agent_id,
                    "outcome": decision.outcome,
                    "resolved": decision.resolved,
                },
            )
        return None


def arrival_event(
    contact_id: str, at: float, context: Mapping[str, Any], queue: str
) -> GatewayEvent:
    """The contact is stored and waiting: committed with the contact's own row."""
    return event("contact.queued", contact_id, at, context, {"queue": queue, "reason": "arrival"})


def message_event(
    contact_id: str, at: float, context: Mapping[str, Any] | None, kind: str, text: str
) -> GatewayEvent:
    """A customer message or transcript segment added to a live contact."""
    return event("contact.message", contact_id, at, context, {"kind": kind, "text": text})
