"""The routing engine: pure, clock-injected, one writer.

Every public method takes ``now`` and returns the ``Decisions`` it made; nothing here reads
a clock, sleeps or does I/O. The runtime (live), the tests and the simulator drive the same
engine. Callers must serialize calls (one writer per routing domain); the engine then
guarantees that a contact has at most one offer in flight and that an agent is never
offered more than its free capacity.
"""

from __future__ import annotations

from router.agent_index import AgentIndex
from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    Decisions,
    Expanded,
    Explanation,
    NotAllowed,
    Offered,
    OfferEnded,
    PresenceChanged,
    Queued,
    Rescored,
    Transferred,
    UnknownAgent,
    UnknownContact,
    UnknownOffer,
    WrapUpStarted,
)
from router.explain import (
    RANKINGS,
    CandidateSearch,
    current_priority,
    pick_explanation,
    priority_parts,
    requirements_dict,
    why_not,
)
from router.lanes import LaneIndex, LaneKey
from router.models import Agent, Contact, NewContact, Offer, RoutePolicy, Step
from router.priority import ageing_rate, static_priority
from router.rules.model import RoutingConfig
from router.states import ContactState, OfferOutcome, Presence, advance_contact, advance_presence
from router.timers import Timer, TimerKind, Timers
from skills.vocabulary import AgentProfile, Channel

NEVER = float("inf")


class Engine:
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

    # ------------------------------------------------------------------ roster

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

    # ---------------------------------------------------------------- presence

    def set_presence(
        self, agent_id: str, presence: Presence, now: float, reason: str = ""
    ) -> Decisions:
        agent = self._agent(agent_id)
        if presence is Presence.WRAP_UP:
            raise NotAllowed("wrap-up presence is set by the router when a contact ends")
        out = Decisions()
        self._change_presence(agent, presence, now, reason, out)
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

    # ---------------------------------------------------------------- contacts

    def add_contact(self, new: NewContact, now: float, reason: str = "arrival") -> Decisions:
        if new.contact_id in self.contacts:
            raise NotAllowed(f"contact {new.contact_id} is already being routed")
        contact = self._make_contact(new)
        self.contacts[contact.contact_id] = contact
        out = Decisions()
        self._route(contact, now, reason, out)
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

    def transfer(
        self,
        agent_id: str,
        contact_id: str,
        now: float,
        *,
        queue: str | None = None,
        skills: dict[str, int] | None = None,
        to_agent: str | None = None,
    ) -> Decisions:
        """Send an assigned contact elsewhere, keeping its arrival time and excluding the sender."""
        contact = self._contact(contact_id)
        if contact.agent_id != agent_id or contact.state is not ContactState.ASSIGNED:
            raise NotAllowed(f"contact {contact_id} is not assigned to you")
        if sum(x is not None for x in (queue, skills, to_agent)) != 1:
            raise NotAllowed("transfer needs exactly one of: queue, skills, agent")
        target: dict[str, str]
        if to_agent is not None:
            if to_agent == agent_id:
                raise NotAllowed("cannot transfer a contact to yourself")
            if to_agent not in self.agents:
                raise UnknownAgent(f"no agent {to_agent!r}")
            policy, target = contact.policy, {"agent": to_agent}
        elif queue is not None:
            if queue not in self.config.queues:
                raise NotAllowed(f"no queue {queue!r}")
            policy, target = self.transfer_policy(contact.policy, queue, None), {"queue": queue}
        else:
            assert skills is not None
            policy = self.transfer_policy(contact.policy, contact.policy.queue, skills)
            target = {"skills": ",".join(f"{k}:{v}" for k, v in sorted(skills.items()))}
        agent = self.agents[agent_id]
        out = Decisions()
        self._release(contact, agent)
        contact.state = advance_contact(contact.state, ContactState.QUEUED)
        contact.agent_id = None
        contact.policy = policy
        contact.transfers += 1
        spec = self.config.priority
        if contact.transfers <= spec.history.max_transfers_counted:
            contact.history_boost += spec.history.per_transfer
        contact.static_priority = static_priority(
            spec,
            rule_priority=policy.base_priority,
            urgency=contact.urgency,
            history=contact.history_boost,
        )
        contact.skip_agents[agent_id] = NEVER
        contact.preferred_agent = to_agent
        contact.preferred_until = now + self.config.preferred_agent.max_wait if to_agent else 0.0
        senders = tuple(sorted(a for a, until in contact.skip_agents.items() if until == NEVER))
        out.add(
            Transferred(
                contact_id,
                agent_id,
                target,
                contact.transfers,
                policy,
                contact.history_boost,
                senders,
                to_agent,
            )
        )
        self._route(contact, now, "transfer", out)
        self._after_release(agent, now, out)
        return out

    def rescore(self, contact_id: str, urgency: float, now: float) -> Decisions:
        """New urgency for a live contact (its customer wrote again, a transcript segment
        arrived): its priority changes and, if waiting, it moves within its lane."""
        contact = self._contact(contact_id)
        out = Decisions()
        urgency = min(max(urgency, 0.0), 1.0)
        if urgency == contact.urgency:
            return out
        contact.urgency = urgency
        contact.static_priority = static_priority(
            self.config.priority,
            rule_priority=contact.policy.base_priority,
            urgency=urgency,
            history=contact.history_boost,
        )
        if contact.state is ContactState.QUEUED and contact.lane is not None:
            key = contact.lane
            self.lanes.leave(contact)
            self.lanes.enter(contact, key, self.rate(key[0], key[1]))
        holder = self.offers[contact.offer_id].agent_id if contact.offer_id else contact.agent_id
        out.add(Rescored(contact_id, urgency, contact.static_priority, holder))
        return out

    # ------------------------------------------------------------------ timers

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
        for agent in list(self.agents.values()):  # default capacities may have changed
            out.items.extend(self.upsert_agent(agent.profile, now))
        return out

    # ---------------------------------------------------------------- policies

    def transfer_policy(
        self, current: RoutePolicy, queue: str, skills: dict[str, int] | None
    ) -> RoutePolicy:
        spec = self.config.queues[queue]
        wanted = spec.skills if skills is None else skills
        steps = spec.expansion or self.config.expansion
        return RoutePolicy(
            rule=f"transfer to {queue}",
            queue=queue,
            base_priority=current.base_priority,
            skills=tuple(sorted(wanted.items())),
            match_language=current.match_language,
            steps=tuple(Step(s.after, s.min_proficiency, s.share) for s in steps),
            preferred_wait=0.0,
        )

    def rate(self, queue: str, channel: Channel) -> float:
        key = (queue, channel)
        rate = self._rates.get(key)
        if rate is None:
            rate = self._rates[key] = ageing_rate(self.config, queue, channel)
        return rate

    # ------------------------------------------------------------ internals

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

    def _start_grace(self, agent: Agent, now: float) -> None:
        """Log the agent out after the disconnect grace unless its desktop comes back."""
        when = now + self.config.offers.disconnect_grace
        self.timers.set(when, TimerKind.DISCONNECT, agent.agent_id, str(agent.connection_epoch))

    def _own_offer(self, agent_id: str, offer_id: str) -> Offer:
        offer = self.offers.get(offer_id)
        if offer is None or offer.agent_id != agent_id:
            raise UnknownOffer(f"no pending offer {offer_id!r} for you (expired or withdrawn)")
        return offer

    def _make_contact(self, new: NewContact) -> Contact:
        static = static_priority(
            self.config.priority,
            rule_priority=new.policy.base_priority,
            urgency=new.urgency,
            history=new.history_boost,
        )
        preferred_until = new.arrival + new.policy.preferred_wait if new.preferred_agent else 0.0
        return Contact(
            contact_id=new.contact_id,
            channel=new.channel,
            arrival=new.arrival,
            policy=new.policy,
            customer_id=new.customer_id,
            language=new.language,
            urgency=new.urgency,
            history_boost=new.history_boost,
            static_priority=static,
            preferred_agent=new.preferred_agent,
            preferred_until=preferred_until,
            transfers=new.transfers,
            skip_agents=dict.fromkeys(new.excluded_agents, NEVER),
        )

    def _route(self, contact: Contact, now: float, reason: str, out: Decisions) -> None:
        """Find an agent for a contact that is (again) waiting, or put it in its lane."""
        self._leave_waiting(contact)
        policy = contact.policy
        rate = self.rate(policy.queue, contact.channel)
        explanation: Explanation = {
            "trigger": reason,
            "rule": policy.rule,
            "queue": policy.queue,
            "priority": priority_parts(contact, rate, self.config.priority.urgency_weight, now),
        }
        preferred = contact.preferred_agent
        if (
            preferred is not None
            and now < contact.preferred_until
            and self._hold_for_preferred(contact, preferred, now, explanation, out)
        ):
            return
        threshold = self.config.sla_for(policy.queue, contact.channel).threshold
        contact.step = policy.step_at(now - contact.arrival, threshold)
        requirements = policy.requirements(contact.step)
        explanation["step"] = {
            "index": contact.step,
            "requirements": requirements_dict(requirements),
            "language": contact.language_needed,
        }
        search = self._search(contact, requirements, now)
        explanation["search"] = search.as_dict(now, RANKINGS[self.config.agent_choice])
        chosen = search.best()
        if chosen is not None:
            explanation["chosen"] = chosen
            self._offer(contact, self.agents[chosen], now, explanation, out)
            return
        key: LaneKey = (policy.queue, contact.channel, requirements, contact.language_needed)
        self.lanes.enter(contact, key, rate)
        next_step = contact.step + 1
        if next_step < len(policy.steps):
            when = contact.arrival + policy.steps[next_step].starts(threshold)
            self.timers.set(when, TimerKind.STEP, contact.contact_id, str(next_step))
        out.add(Queued(contact.contact_id, policy.queue, reason, explanation))

    def _hold_for_preferred(
        self,
        contact: Contact,
        agent_id: str,
        now: float,
        explanation: Explanation,
        out: Decisions,
    ) -> bool:
        """Offer to the preferred agent, or reserve the contact for it. False: not possible."""
        agent = self.agents.get(agent_id)
        if agent is None or agent.presence is Presence.OFFLINE or contact.skips(agent_id, now):
            # holding out makes sense for a busy or briefly away agent, not a logged-out one
            state = "offline" if agent is not None and agent.presence is Presence.OFFLINE else ""
            explanation["preferred"] = {"agent": agent_id, "result": state or "not eligible"}
            return False
        floors = contact.policy.requirements(len(contact.policy.steps) - 1)
        blocker = why_not(agent, contact, floors, now)
        if blocker is None:
            explanation["preferred"] = {"agent": agent_id, "result": "offered"}
            explanation["chosen"] = agent_id
            self._offer(contact, agent, now, explanation, out)
            return True
        if not agent.profile.meets(floors) or not agent.profile.speaks(contact.language_needed):
            explanation["preferred"] = {"agent": agent_id, "result": f"not qualified: {blocker}"}
            return False
        contact.reserved_for = agent_id
        self._reserved.setdefault(agent_id, set()).add(contact.contact_id)
        self.timers.set(contact.preferred_until, TimerKind.PREFERRED_WAIT, contact.contact_id)
        explanation["preferred"] = {
            "agent": agent_id,
            "result": f"waiting for it: {blocker}",
            "until": contact.preferred_until,
        }
        out.add(
            Queued(
                contact.contact_id, contact.policy.queue, str(explanation["trigger"]), explanation
            )
        )
        return True

    def _search(
        self, contact: Contact, requirements: tuple[tuple[str, int], ...], now: float
    ) -> CandidateSearch:
        search = CandidateSearch()
        choice = self.config.agent_choice
        policy = contact.policy
        language = contact.language_needed
        channel = contact.channel
        for agent_id in self.index.candidates(channel, requirements):
            agent = self.agents[agent_id]
            if agent.presence is not Presence.AVAILABLE or not agent.free_on(channel):
                continue  # not free: the index walked skill holders, not free agents
            profile = agent.profile
            if contact.skips(agent_id, now):
                search.exclude(agent_id, "declined, missed or transferred it")
            elif not profile.speaks(language):
                search.exclude(agent_id, "language")
            elif not profile.meets(requirements):
                search.exclude(agent_id, "proficiency below this step")
            elif choice == "bullseye":
                ring = policy.ring_of(profile)
                search.consider(
                    ring if ring is not None else len(policy.steps), agent.idle_since, agent_id
                )
            else:
                since = agent.idle_since if choice == "longest_idle" else agent.last_offer_at
                search.consider(0, since, agent_id)
        return search

    def _fill(self, agent: Agent, now: float, out: Decisions) -> None:
        """Give a free agent the best waiting contacts it can serve, up to its capacity."""
        agent_id = agent.agent_id
        while agent.presence is Presence.AVAILABLE:
            channels = self.index.refresh(agent)
            if not channels:
                return
            best: Contact | None = None
            best_priority = -NEVER
            runner_up: float | None = None
            compared = 0
            for contact_id in self._reserved.get(agent_id, ()):
                contact = self.contacts[contact_id]
                priority = current_priority(
                    contact, self.rate(contact.policy.queue, contact.channel), now
                )
                if contact.channel in channels and priority > best_priority:
                    best, best_priority = contact, priority
            if best is None:
                for lane in self.lanes.lanes_for(agent.profile, channels):
                    head = lane.best(self.contacts, lambda c: not c.skips(agent_id, now))
                    if head is None:
                        continue
                    compared += 1
                    priority = current_priority(head, lane.rate, now)
                    if priority > best_priority:
                        runner_up = best_priority if best is not None else None
                        best, best_priority = head, priority
                    elif runner_up is None or priority > runner_up:
                        runner_up = priority
            if best is None:
                return
            rate = self.rate(best.policy.queue, best.channel)
            explanation = pick_explanation(
                best, rate, self.config.priority.urgency_weight, now, compared, runner_up
            )
            explanation.update(
                rule=best.policy.rule, queue=best.policy.queue, step=best.step, chosen=agent_id
            )
            if best.reserved_for == agent_id:
                explanation["preferred"] = {"agent": agent_id, "result": "offered"}
            self._offer(best, agent, now, explanation, out)

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

    def _leave_waiting(self, contact: Contact) -> None:
        self.lanes.leave(contact)
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

    def _change_presence(
        self, agent: Agent, presence: Presence, now: float, reason: str, out: Decisions
    ) -> None:
        previous = agent.presence
        agent.presence = advance_presence(previous, presence)
        agent.presence_reason = reason
        if presence is Presence.AVAILABLE:
            agent.consecutive_misses = 0
            if not agent.busy_channels() or previous is Presence.OFFLINE:
                agent.idle_since = now
        if presence != previous or reason:
            out.add(PresenceChanged(agent.agent_id, presence, reason))
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
        contact = self.contacts.get(timer.subject)
        if contact is None:
            return
        if kind is TimerKind.WRAP_UP:
            if contact.state is ContactState.WRAP_UP:
                self._complete(contact, now, "wrap_up_timeout", None, "", out)
        elif kind is TimerKind.STEP:
            # the step is worked out again from the contact's current policy: a transfer
            # may have given it other steps since this timer was set
            if contact.state is ContactState.QUEUED and contact.reserved_for is None:
                threshold = self.config.sla_for(contact.policy.queue, contact.channel).threshold
                step = contact.policy.step_at(now - contact.arrival, threshold)
                if step > contact.step:
                    out.add(Expanded(contact.contact_id, step, contact.policy.requirements(step)))
                    self._route(contact, now, "expansion", out)
        elif kind is TimerKind.PREFERRED_WAIT:
            if contact.state is ContactState.QUEUED and contact.reserved_for is not None:
                self._route(contact, now, "preferred_wait_over", out)
        elif kind is TimerKind.SKIP_EXPIRY:
            agent = self.agents.get(timer.detail)
            if contact.state is ContactState.QUEUED and agent is not None:
                self.index.refresh(agent)
                self._fill(agent, now, out)
