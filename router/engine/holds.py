"""Holds: a queued contact kept out of matching until a time (a callback the customer asked
for at a time of their choosing). It keeps its arrival, so when the hold ends it takes its
place again (ageing counted from the first arrival)."""

from __future__ import annotations

from router.decisions import Decisions, NotAllowed, Queued
from router.engine.state import EngineState
from router.models import Contact, NewContact
from router.states import ContactState
from router.timers import TimerKind


class Holds(EngineState):
    def hold(self, contact_id: str, until: float, now: float) -> Decisions:
        """Keep a queued contact out of matching until ``until``; nothing if that is past."""
        contact = self._contact(contact_id)
        if contact.state is not ContactState.QUEUED:
            raise NotAllowed(f"contact {contact_id} is {contact.state.value}, not queued")
        out = Decisions()
        if until <= now:
            return out
        self._leave_waiting(contact)
        self._hold(contact, until, "held", out)
        return out

    def add_held(self, new: NewContact, until: float, now: float, reason: str) -> Decisions:
        """A contact that enters held (a callback tried again later): routed at ``until``."""
        if new.contact_id in self.contacts:
            raise NotAllowed(f"contact {new.contact_id} is already being routed")
        contact = self._make_contact(new)
        self.contacts[contact.contact_id] = contact
        out = Decisions()
        if until <= now:
            self._route(contact, now, reason, out)
        else:
            self._hold(contact, until, reason, out)
        return out

    def _hold(self, contact: Contact, until: float, reason: str, out: Decisions) -> None:
        contact.held_until = until
        self.timers.set(until, TimerKind.HOLD, contact.contact_id)
        queue = contact.policy.queue
        explanation = {"trigger": reason, "queue": queue, "held_until": until}
        out.add(Queued(contact.contact_id, queue, reason, explanation))

    def _hold_over(self, contact: Contact, now: float, out: Decisions) -> None:
        if contact.state is ContactState.QUEUED and 0 < contact.held_until <= now:
            contact.held_until = 0.0
            self._route(contact, now, "hold_over", out)
