"""The routing engine: pure, clock-injected, one writer.

Every public method takes ``now`` and returns the ``Decisions`` it made; nothing here reads
a clock, sleeps or does I/O. The runtime (live), the tests and the simulator drive the same
engine. Callers must serialize calls (one writer per routing domain); the engine then
guarantees that a contact has at most one offer in flight and that an agent is never
offered more than its free capacity.

One class, ``Engine``, owns the state (router/engine/state.py); its methods are grouped by
concern: queueing, offers, roster, endings, transfers. Timers, rule reloads and restoring
contacts after a restart are here."""

from __future__ import annotations

from router.decisions import (
    Decisions,
    Expanded,
)
from router.engine.endings import Endings
from router.engine.holds import Holds
from router.engine.offers import Offers
from router.engine.overflow import Overflow
from router.engine.queueing import Queueing
from router.engine.roster import Roster
from router.engine.supervision import Supervision
from router.engine.transfers import Transfers
from router.lanes import LaneIndex
from router.models import NewContact
from router.rules.model import RoutingConfig
from router.states import ContactState, OfferOutcome, Presence
from router.timers import Timer, TimerKind


class Engine(Queueing, Offers, Roster, Endings, Transfers, Supervision, Holds, Overflow):
    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def advance(self, now: float) -> Decisions:
        """Fire every timer due at ``now``."""
        out = Decisions()
        while (timer := self.timers.pop_due(now)) is not None:
            self._fire(timer, now, out)
        return out

    def reload(self, config: RoutingConfig, now: float) -> Decisions:
        """Run on new rules. Contacts in flight keep the policy that matched them; ageing
        rates, capacities and timeouts follow the new config from now on."""
        out = Decisions()
        self.config = config
        self._rates.clear()
        waiting = [c for c in self.contacts.values() if c.lane is not None]
        self.lanes = LaneIndex()
        for contact in waiting:
            key = contact.lane
            assert key is not None
            contact.lane = None
            self.lanes.enter(contact, key, self.rate(key[0], key[1]))
            over = contact.overflow_lane
            if over is not None:  # its overflow entry too
                contact.overflow_lane = None
                self.lanes.enter_overflow(
                    contact, over, self.rate(over[0], over[1]), contact.overflow_static
                )
        for agent in list(self.agents.values()):  # default capacities may have changed
            out.items.extend(self.upsert_agent(agent.profile, now))
        return out

    def restore_contact(
        self, new: NewContact, state: ContactState, agent_id: str | None, now: float
    ) -> Decisions:
        """Bring back an unfinished contact after a restart, with its original arrival."""
        agent = self.agents.get(agent_id) if agent_id else None
        if state in (ContactState.QUEUED, ContactState.OFFERED) or agent is None:
            return self.add_contact(new, now, reason="restored")
        contact = self._make_contact(new)
        self.contacts[contact.contact_id] = contact
        contact.state = ContactState.ASSIGNED
        contact.agent_id = agent.agent_id
        agent.load.setdefault(contact.channel, set()).add(contact.contact_id)
        out = Decisions()
        if state is ContactState.WRAP_UP:
            self._start_wrap_up(contact, agent, now, "restored", out)
        self.index.refresh(agent)
        if not agent.connected:  # hand it back unless the agent's desktop returns in time
            self._start_grace(agent, now)
        return out

    def _fire(self, timer: Timer, now: float, out: Decisions) -> None:
        kind = timer.kind
        if kind is TimerKind.OFFER_EXPIRY:
            offer = self.offers.get(timer.subject)
            if offer is not None:
                self._decline(offer, OfferOutcome.MISSED, "no answer", now, out)
            return
        if kind is TimerKind.DISCONNECT:
            agent = self.agents.get(timer.subject)
            if (
                agent is not None
                and not agent.connected
                and str(agent.connection_epoch) == timer.detail
                and (agent.presence is not Presence.OFFLINE or agent.busy_channels())
            ):
                self._change_presence(agent, Presence.OFFLINE, now, "desktop disconnected", out)
            return
        if kind is TimerKind.STATE_LIMIT:
            self._state_limit(timer.subject, timer.detail, now, out)
            return
        contact = self.contacts.get(timer.subject)
        if contact is None:
            return
        if kind is TimerKind.WRAP_UP:
            if contact.state is ContactState.WRAP_UP:
                self._complete(contact, now, "wrap_up_timeout", None, "", out)
        elif kind is TimerKind.STEP:
            # the step is worked out again from the contact's current policy: a transfer
            # may have given it other steps since this timer was set
            held = contact.held_until > now
            if contact.state is ContactState.QUEUED and contact.reserved_for is None and not held:
                threshold = self.config.sla_for(contact.policy.queue, contact.channel).threshold
                step = contact.policy.step_at(now - contact.arrival, threshold)
                if step > contact.step:
                    out.add(Expanded(contact.contact_id, step, contact.policy.requirements(step)))
                    self._route(contact, now, "expansion", out)
        elif kind is TimerKind.OVERFLOW:
            self._overflow_due(contact, int(timer.detail), now, out)
        elif kind is TimerKind.HOLD:
            self._hold_over(contact, now, out)
        elif kind is TimerKind.PREFERRED_WAIT:
            if contact.state is ContactState.QUEUED and contact.reserved_for is not None:
                self._route(contact, now, "preferred_wait_over", out)
        elif kind is TimerKind.SKIP_EXPIRY:
            agent = self.agents.get(timer.detail)
            if contact.state is ContactState.QUEUED and agent is not None:
                self.index.refresh(agent)
                self._fill(agent, now, out)
