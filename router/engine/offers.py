"""Offers: made to one agent at a time, accepted, rejected or missed.

A rejected or missed offer skips that agent for a while and routes the contact again;
an agent who misses too many in a row is set away (not ready)."""

from __future__ import annotations

from router.decisions import (
    Assigned,
    Decisions,
    Explanation,
    Offered,
    OfferEnded,
)
from router.engine.state import EngineState
from router.models import Agent, Contact, Offer
from router.states import ContactState, OfferOutcome, Presence, advance_contact
from router.timers import TimerKind


class Offers(EngineState):
    def accept(self, agent_id: str, offer_id: str, now: float) -> Decisions:
        offer = self._own_offer(agent_id, offer_id)
        agent = self.agents[agent_id]
        contact = self.contacts[offer.contact_id]
        out = Decisions()
        self._close_offer(offer, OfferOutcome.ACCEPTED, "", out)
        contact.state = advance_contact(contact.state, ContactState.ASSIGNED)
        contact.agent_id = agent_id  # its slot in agent.load was taken by the offer
        agent.consecutive_misses = 0
        out.add(Assigned(contact.contact_id, agent_id, offer_id, now - contact.arrival))
        return out

    def reject(self, agent_id: str, offer_id: str, now: float, reason: str = "") -> Decisions:
        offer = self._own_offer(agent_id, offer_id)
        out = Decisions()
        self._decline(offer, OfferOutcome.REJECTED, reason, now, out)
        return out

    def _offer(
        self,
        contact: Contact,
        agent: Agent,
        now: float,
        explanation: Explanation,
        out: Decisions,
    ) -> None:
        self._leave_waiting(contact)
        contact.state = advance_contact(contact.state, ContactState.OFFERED)
        self._offer_seq += 1
        offer_id = f"{self._id_prefix}-{self._offer_seq}"
        expires = now + self.config.channels[contact.channel].offer_timeout
        offer = Offer(offer_id, contact.contact_id, agent.agent_id, contact.channel, now, expires)
        self.offers[offer_id] = offer
        agent.offers[offer_id] = offer
        agent.last_offer_at = now
        agent.load.setdefault(contact.channel, set()).add(contact.contact_id)
        contact.offer_id = offer_id
        contact.offers_made += 1
        self.timers.set(expires, TimerKind.OFFER_EXPIRY, offer_id)
        self.index.refresh(agent)
        out.add(
            Offered(
                offer_id, contact.contact_id, agent.agent_id, contact.channel, expires, explanation
            )
        )

    def _close_offer(
        self, offer: Offer, outcome: OfferOutcome, reason: str, out: Decisions
    ) -> None:
        del self.offers[offer.offer_id]
        agent = self.agents[offer.agent_id]
        del agent.offers[offer.offer_id]
        contact = self.contacts[offer.contact_id]
        contact.offer_id = None
        if outcome is not OfferOutcome.ACCEPTED:
            agent.load[offer.channel].discard(offer.contact_id)
        out.add(OfferEnded(offer.offer_id, offer.contact_id, offer.agent_id, outcome, reason))

    def _decline(
        self, offer: Offer, outcome: OfferOutcome, reason: str, now: float, out: Decisions
    ) -> None:
        """Rejected or missed: skip this agent for a while and route the contact again."""
        agent = self.agents[offer.agent_id]
        contact = self.contacts[offer.contact_id]
        self._close_offer(offer, outcome, reason, out)
        retry = self.config.offers.retry_same_agent_after
        if retry > 0:
            contact.skip_agents[agent.agent_id] = now + retry
            self.timers.set(now + retry, TimerKind.SKIP_EXPIRY, contact.contact_id, agent.agent_id)
        contact.state = advance_contact(contact.state, ContactState.QUEUED)
        if outcome is OfferOutcome.MISSED:
            agent.consecutive_misses += 1
            limit = self.config.offers.max_consecutive_misses
            if agent.consecutive_misses >= limit and agent.presence is Presence.AVAILABLE:
                self._change_presence(
                    agent, Presence.AWAY, now, f"not ready: missed {limit} offers in a row", out
                )
        self._route(contact, now, outcome.value, out)
        self._fill(agent, now, out)
