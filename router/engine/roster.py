"""Roster and presence: agents, their skills and capacity, available/away/offline.

Going away or offline revokes pending offers; going offline hands back what the agent
still held; becoming available fills the agent's free capacity."""

from __future__ import annotations

from router.decisions import (
    Completed,
    Decisions,
    NotAllowed,
    PresenceChanged,
    StateLimitExceeded,
)
from router.engine.state import EngineState
from router.models import Agent
from router.states import ContactState, OfferOutcome, Presence, advance_contact, advance_presence
from router.timers import TimerKind
from skills.vocabulary import AgentProfile


class Roster(EngineState):
    def upsert_agent(self, profile: AgentProfile, now: float) -> Decisions:
        """Add an agent (offline) or update its skills, languages and capacity in place."""
        out = Decisions()
        capacity = {
            channel: profile.capacity.get(channel, spec.capacity)
            for channel, spec in self.config.channels.items()
        }
        exclusive = frozenset(c for c, spec in self.config.channels.items() if spec.exclusive)
        agent = self.agents.get(profile.agent_id)
        if agent is None:
            agent = Agent(profile, capacity, exclusive, idle_since=now)
            self.agents[profile.agent_id] = agent
        else:
            self.index.remove_profile(agent)
            agent.profile, agent.capacity, agent.exclusive = profile, capacity, exclusive
        self.index.add_profile(agent)
        self._fill(agent, now, out)
        return out

    def set_presence(
        self,
        agent_id: str,
        presence: Presence,
        now: float,
        reason: str = "",
        *,
        code: str = "",
        forced_by: str = "",
    ) -> Decisions:
        """Change an agent's presence; ``code`` is an away reason from config
        (agent_states.reasons), ``forced_by`` the supervisor who set it, if one did."""
        agent = self._agent(agent_id)
        if presence is Presence.WRAP_UP:
            raise NotAllowed("wrap-up presence is set by the router when a contact ends")
        states = self.config.agent_states
        if code:
            if presence is not Presence.AWAY:
                raise NotAllowed("a reason code goes only with presence 'away'")
            if code not in states.reasons:
                known = ", ".join(sorted(states.reasons)) or "none configured"
                raise NotAllowed(f"unknown reason code {code!r} (known: {known})")
        elif presence is Presence.AWAY and states.require_reason and not forced_by:
            known = ", ".join(sorted(states.reasons))
            raise NotAllowed(f"going away needs a reason code (one of: {known})")
        if forced_by and presence is not Presence.OFFLINE:
            if agent.presence is Presence.OFFLINE:
                raise NotAllowed(f"agent {agent_id} is not logged in")
            if presence is Presence.AVAILABLE and not agent.connected:
                raise NotAllowed(f"agent {agent_id} has no desktop connected to take work")
        out = Decisions()
        self._change_presence(agent, presence, now, reason, out, code=code, forced_by=forced_by)
        return out

    def connected(self, agent_id: str, now: float) -> Decisions:
        agent = self._agent(agent_id)
        agent.connected = True
        agent.connection_epoch += 1
        return Decisions()

    def disconnected(self, agent_id: str, now: float) -> Decisions:
        """The desktop went away; after the grace period the agent is logged out."""
        agent = self._agent(agent_id)
        agent.connected = False
        agent.connection_epoch += 1
        self._start_grace(agent, now)
        return Decisions()

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
        previous, previous_code = agent.presence, agent.presence_code
        agent.presence = advance_presence(previous, presence)
        agent.presence_reason = reason
        agent.presence_code = code
        agent.forced_by = forced_by
        if presence != previous or code != previous_code:
            agent.presence_since = now
            agent.state_epoch += 1
            limit = self.config.agent_states.reasons[code].limit if code else None
            if limit is not None:
                self.timers.set(
                    now + limit, TimerKind.STATE_LIMIT, agent.agent_id, str(agent.state_epoch)
                )
        if presence is Presence.AVAILABLE:
            agent.consecutive_misses = 0
            if not agent.busy_channels() or previous is Presence.OFFLINE:
                agent.idle_since = now
        if presence != previous or reason or code != previous_code:
            out.add(
                PresenceChanged(
                    agent.agent_id, presence, reason, code, agent.presence_since, forced_by
                )
            )
        if presence in (Presence.AWAY, Presence.OFFLINE):
            for offer in list(agent.offers.values()):
                contact = self.contacts[offer.contact_id]
                self._close_offer(offer, OfferOutcome.REVOKED, f"agent {presence.value}", out)
                contact.state = advance_contact(contact.state, ContactState.QUEUED)
                self._route(contact, now, "agent_unavailable", out)
        if presence is Presence.OFFLINE:
            self._hand_back(agent, now, out)
        self.index.refresh(agent)
        if presence is Presence.AVAILABLE:
            self._fill(agent, now, out)

    def _state_limit(self, agent_id: str, epoch: str, now: float, out: Decisions) -> None:
        """A limit timer fired: alert if the agent is still in the same away state."""
        agent = self.agents.get(agent_id)
        if agent is None or str(agent.state_epoch) != epoch or not agent.presence_code:
            return
        spec = self.config.agent_states.reasons.get(agent.presence_code)
        if spec is not None and spec.limit is not None:
            out.add(
                StateLimitExceeded(agent_id, agent.presence_code, agent.presence_since, spec.limit)
            )

    def _hand_back(self, agent: Agent, now: float, out: Decisions) -> None:
        """Logout: finish wrap-ups, requeue contacts still being handled."""
        held = [self.contacts[c] for held in agent.load.values() for c in held]
        for contact in held:
            if contact.state is ContactState.WRAP_UP:
                contact.state = advance_contact(contact.state, ContactState.COMPLETED)
                self._release(contact, agent)
                del self.contacts[contact.contact_id]
                out.add(Completed(contact.contact_id, agent.agent_id, "agent_logged_out", None))
            elif contact.state is ContactState.ASSIGNED:
                self._release(contact, agent)
                contact.state = advance_contact(contact.state, ContactState.QUEUED)
                contact.agent_id = None
                self._route(contact, now, "agent_logged_out", out)
