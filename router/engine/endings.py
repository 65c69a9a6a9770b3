"""Endings: a contact ends (wrap-up, then completed) or is abandoned before an answer."""

from __future__ import annotations

from router.decisions import (
    Abandoned,
    Completed,
    Decisions,
    NotAllowed,
    WrapUpStarted,
)
from router.engine.state import EngineState
from router.models import Agent, Contact
from router.states import ContactState, OfferOutcome, Presence, advance_contact
from router.timers import TimerKind


class Endings(EngineState):
    def end_contact(
        self, contact_id: str, now: float, ended_by: str = "agent", agent_id: str | None = None
    ) -> Decisions:
        """The conversation is over: assigned -> wrap-up; not yet answered -> abandoned.

        With ``agent_id`` (an agent ending it) the contact must be assigned to that agent.
        """
        contact = self._contact(contact_id)
        if agent_id is not None and contact.agent_id != agent_id:
            raise NotAllowed(f"contact {contact_id} is not assigned to you")
        out = Decisions()
        if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
            self._abandon(contact, now, out)
        elif contact.state is ContactState.ASSIGNED:
            agent = self.agents[contact.agent_id or ""]
            self._start_wrap_up(contact, agent, now, ended_by, out)
        return out

    def abandon(self, contact_id: str, now: float) -> Decisions:
        """The customer left. Before an answer that is an abandon; after, the end of it."""
        return self.end_contact(contact_id, now, ended_by="customer")

    def wrap_up(
        self,
        agent_id: str,
        contact_id: str,
        now: float,
        *,
        outcome: str,
        resolved: bool | None,
        notes: str = "",
    ) -> Decisions:
        contact = self._contact(contact_id)
        if contact.agent_id != agent_id or contact.state not in (
            ContactState.ASSIGNED,
            ContactState.WRAP_UP,
        ):
            raise NotAllowed(f"contact {contact_id} is not yours to wrap up")
        out = Decisions()
        self._complete(contact, now, outcome, resolved, notes, out)
        return out

    def _start_wrap_up(
        self, contact: Contact, agent: Agent, now: float, ended_by: str, out: Decisions
    ) -> None:
        contact.state = advance_contact(contact.state, ContactState.WRAP_UP)
        limit = self.config.channels[contact.channel].wrap_up
        agent.wrap_ups.add(contact.contact_id)
        out.add(WrapUpStarted(contact.contact_id, agent.agent_id, now + limit, ended_by))
        self.timers.set(now + limit, TimerKind.WRAP_UP, contact.contact_id)
        if contact.channel in agent.exclusive and agent.presence is Presence.AVAILABLE:
            self._change_presence(agent, Presence.WRAP_UP, now, f"after {contact.channel}", out)

    def _complete(
        self,
        contact: Contact,
        now: float,
        outcome: str,
        resolved: bool | None,
        notes: str,
        out: Decisions,
    ) -> None:
        agent = self.agents[contact.agent_id or ""]
        contact.state = advance_contact(contact.state, ContactState.COMPLETED)
        self._release(contact, agent)
        del self.contacts[contact.contact_id]
        out.add(Completed(contact.contact_id, agent.agent_id, outcome, resolved, notes))
        self._after_release(agent, now, out)

    def _abandon(self, contact: Contact, now: float, out: Decisions) -> None:
        offer = self.offers.get(contact.offer_id or "")
        self._leave_waiting(contact)
        contact.state = advance_contact(contact.state, ContactState.ABANDONED)
        agent = None
        if offer is not None:
            agent = self.agents[offer.agent_id]
            self._close_offer(offer, OfferOutcome.REVOKED, "customer left", out)
        del self.contacts[contact.contact_id]
        out.add(Abandoned(contact.contact_id, now - contact.arrival))
        if agent is not None:
            self._after_release(agent, now, out)

    def _after_release(self, agent: Agent, now: float, out: Decisions) -> None:
        if not agent.busy_channels():
            agent.idle_since = now
        if agent.presence is Presence.WRAP_UP and not any(
            self.contacts[c].channel in agent.exclusive for c in agent.wrap_ups
        ):
            self._change_presence(agent, Presence.AVAILABLE, now, "wrap-up done", out)
            return
        self.index.refresh(agent)
        self._fill(agent, now, out)
