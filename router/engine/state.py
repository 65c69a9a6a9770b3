"""The engine's state and the small lookups every concern shares.

``Engine`` (router/engine/core.py) is one class that owns this state and its invariants;
its methods are grouped by concern in the modules beside this one (queueing, offers,
roster, endings, transfers). The operations one concern calls on another are declared here,
abstract, so each module type-checks on its own."""

from __future__ import annotations

from abc import ABC, abstractmethod

from router.agent_index import AgentIndex
from router.decisions import (
    Decisions,
    Explanation,
    UnknownAgent,
    UnknownContact,
    UnknownOffer,
)
from router.lanes import LaneIndex
from router.models import Agent, Contact, NewContact, Offer
from router.priority import ageing_rate
from router.rules.model import RoutingConfig
from router.states import OfferOutcome, Presence
from router.timers import TimerKind, Timers
from skills.vocabulary import Channel

NEVER = float("inf")


class EngineState(ABC):
    def __init__(self, config: RoutingConfig, *, id_prefix: str = "o") -> None:
        self.config = config
        self.contacts: dict[str, Contact] = {}
        self.agents: dict[str, Agent] = {}
        self.lanes = LaneIndex()
        self.index = AgentIndex()
        self.timers = Timers()
        self.offers: dict[str, Offer] = {}
        self._reserved: dict[str, set[str]] = {}
        self._rates: dict[tuple[str, Channel], float] = {}
        self._id_prefix = id_prefix
        self._offer_seq = 0

    def rate(self, queue: str, channel: Channel) -> float:
        key = (queue, channel)
        rate = self._rates.get(key)
        if rate is None:
            rate = self._rates[key] = ageing_rate(self.config, queue, channel)
        return rate

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r}")
        return agent

    def _contact(self, contact_id: str) -> Contact:
        contact = self.contacts.get(contact_id)
        if contact is None:
            raise UnknownContact(f"contact {contact_id!r} is not live (finished or unknown)")
        return contact

    def _own_offer(self, agent_id: str, offer_id: str) -> Offer:
        offer = self.offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            raise UnknownOffer(f"no pending offer {offer_id!r} for you (expired or withdrawn)")
        return offer

    def _start_grace(self, agent: Agent, now: float) -> None:
        """Log the agent out after the disconnect grace unless its desktop comes back."""
        when = now + self.config.offers.disconnect_grace
        self.timers.set(when, TimerKind.DISCONNECT, agent.agent_id, str(agent.connection_epoch))

    def _leave_waiting(self, contact: Contact) -> None:
        self.lanes.leave(contact)
        self.lanes.leave_overflow(contact)
        if contact.reserved_for is not None:
            reserved = self._reserved.get(contact.reserved_for)
            if reserved is not None:
                reserved.discard(contact.contact_id)
            contact.reserved_for = None

    def _release(self, contact: Contact, agent: Agent) -> None:
        held = agent.load.get(contact.channel)
        if held is not None:
            held.discard(contact.contact_id)
        agent.wrap_ups.discard(contact.contact_id)

    # ----------------------------------------- operations the concerns share

    @abstractmethod
    def _route(self, contact: Contact, now: float, reason: str, out: Decisions) -> None:
        """Find an agent for a waiting contact, or put it in its lane (queueing)."""

    @abstractmethod
    def _plan_overflow(self, contact: Contact, now: float, out: Decisions) -> None:
        """A contact just queued: overflow now if due, else set its timers (overflow)."""

    @abstractmethod
    def _overflow_explanation(self, contact: Contact) -> dict[str, object]:
        """Where and with what priority a contact overflows (overflow)."""

    @abstractmethod
    def _make_contact(self, new: NewContact) -> Contact:
        """A live contact from a new one (queueing)."""

    @abstractmethod
    def _fill(self, agent: Agent, now: float, out: Decisions) -> None:
        """Give a free agent the best waiting contacts it can serve (queueing)."""

    @abstractmethod
    def _offer(
        self,
        contact: Contact,
        agent: Agent,
        now: float,
        explanation: Explanation,
        out: Decisions,
    ) -> None:
        """Offer a contact to an agent (offers)."""

    @abstractmethod
    def _close_offer(
        self, offer: Offer, outcome: OfferOutcome, reason: str, out: Decisions
    ) -> None:
        """End an offer in flight (offers)."""

    @abstractmethod
    def _change_presence(
        self,
        agent: Agent,
        presence: Presence,
        now: float,
        reason: str,
        out: Decisions,
        *,
        code: str = "",
        forced_by: str = "",
    ) -> None:
        """Move an agent to a presence, with what follows from it (roster)."""

    @abstractmethod
    def _after_release(self, agent: Agent, now: float, out: Decisions) -> None:
        """An agent let go of a contact: wrap-up over, or fill its free capacity (endings)."""
