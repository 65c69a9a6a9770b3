"""Explicit state machines for contacts and agents, with guarded transitions.

Any change of state goes through ``advance_contact`` / ``advance_presence`` so an illegal
move (offering a finished contact, completing a queued one) fails loudly instead of
corrupting the live state.
"""

from __future__ import annotations

from enum import StrEnum


class ContactState(StrEnum):
    QUEUED = "queued"  # waiting for an agent (also: reserved for a preferred agent)
    OFFERED = "offered"  # one offer in flight to one agent
    ASSIGNED = "assigned"  # an agent accepted and is handling it
    WRAP_UP = "wrap_up"  # conversation over, agent writing the outcome
    COMPLETED = "completed"  # outcome recorded
    ABANDONED = "abandoned"  # the customer left before an agent answered


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    AWAY = "away"  # includes not-ready after missed offers (see reason)
    WRAP_UP = "wrap_up"  # after an exclusive (voice) contact, until wrap-up is done


class OfferOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"  # the agent said no
    MISSED = "missed"  # no answer before the offer timed out (RONA)
    REVOKED = "revoked"  # withdrawn: customer left, agent went away, shutdown


FINISHED_STATES = frozenset({ContactState.COMPLETED, ContactState.ABANDONED})

RECEIVED = "received"
"""A stored contact's state before it is routed: a node stored it and the active router has
not planned it yet (router/reception.py). Only in the record; the engine never holds it."""

_CONTACT_MOVES: dict[ContactState, frozenset[ContactState]] = {
    ContactState.QUEUED: frozenset({ContactState.OFFERED, ContactState.ABANDONED}),
    ContactState.OFFERED: frozenset(
        {ContactState.QUEUED, ContactState.ASSIGNED, ContactState.ABANDONED}
    ),
    ContactState.ASSIGNED: frozenset(
        {ContactState.QUEUED, ContactState.WRAP_UP, ContactState.COMPLETED}
    ),
    ContactState.WRAP_UP: frozenset({ContactState.COMPLETED}),
    ContactState.COMPLETED: frozenset(),
    ContactState.ABANDONED: frozenset(),
}

_PRESENCE_MOVES: dict[Presence, frozenset[Presence]] = {
    Presence.OFFLINE: frozenset({Presence.AVAILABLE, Presence.AWAY}),
    Presence.AVAILABLE: frozenset({Presence.AWAY, Presence.WRAP_UP, Presence.OFFLINE}),
    Presence.AWAY: frozenset({Presence.AVAILABLE, Presence.OFFLINE}),
    Presence.WRAP_UP: frozenset({Presence.AVAILABLE, Presence.AWAY, Presence.OFFLINE}),
}


class IllegalTransition(Exception):
    def __init__(self, what: str, current: StrEnum, wanted: StrEnum) -> None:
        super().__init__(f"{what} cannot go from {current.value} to {wanted.value}")
        self.current = current
        self.wanted = wanted


def advance_contact(current: ContactState, wanted: ContactState) -> ContactState:
    if wanted not in _CONTACT_MOVES[current]:
        raise IllegalTransition("contact", current, wanted)
    return wanted


def advance_presence(current: Presence, wanted: Presence) -> Presence:
    if wanted != current and wanted not in _PRESENCE_MOVES[current]:
        raise IllegalTransition("agent", current, wanted)
    return wanted
