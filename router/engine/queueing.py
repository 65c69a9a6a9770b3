"""Queueing: contacts arrive, wait in priority lanes, are matched to agents.

A contact looks only at agents who could take it (the agent index); a free agent looks
only at the lanes it can serve. Urgency changes move a waiting contact within its lane."""

from __future__ import annotations

from router.decisions import (
    Decisions,
    Explanation,
    NotAllowed,
    Queued,
    Rescored,
)
from router.engine.state import NEVER, EngineState
from router.explain import (
    RANKINGS,
    TOP_CANDIDATES,
    CandidateSearch,
    current_priority,
    pick_explanation,
    priority_parts,
    requirements_dict,
    why_not,
)
from router.lanes import LaneKey
from router.models import Agent, Contact, NewContact
from router.priority import static_priority
from router.states import ContactState, Presence
from router.timers import TimerKind


class Queueing(EngineState):
    def add_contact(self, new: NewContact, now: float, reason: str = "arrival") -> Decisions:
        if new.contact_id in self.contacts:
            raise NotAllowed(f"contact {new.contact_id} is already being routed")
        contact = self._make_contact(new)
        self.contacts[contact.contact_id] = contact
        out = Decisions()
        self._route(contact, now, reason, out)
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
        contact.held_until = 0.0  # routed: a hold, if any, is over
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
        self._plan_overflow(contact, now, out)

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
        """The free agents who could take ``contact``, by profile: each profile's checks
        once, the longest waiting of an eligible profile from its heap (router/free_agents.py),
        every agent the contact skips (declined, missed, transferred) counted as such."""
        search = CandidateSearch()
        choice = self.config.agent_choice
        since = "last_offer_at" if choice == "round_robin" else "idle_since"
        policy = contact.policy
        language = contact.language_needed
        skipping = {a for a in contact.skip_agents if contact.skips(a, now)}
        channel = contact.channel

        def usable(agent: Agent) -> bool:
            return agent.presence is Presence.AVAILABLE and agent.free_on(channel)

        for group in self.index.candidate_groups(channel, requirements):
            members = group.members
            skipped = [agent_id for agent_id in skipping if agent_id in members]
            for agent_id in skipped:
                search.exclude(agent_id, "declined, missed or transferred it")
            count = len(members) - len(skipped)
            if count == 0:
                continue
            profile = group.profile
            others = (agent_id for agent_id in members if agent_id not in skipping)
            if not profile.speaks(language):
                search.exclude_many(others, count, "language")
            elif not profile.meets(requirements):
                search.exclude_many(others, count, "proficiency below this step")
            else:
                ring = 0
                if choice == "bullseye":
                    found = policy.ring_of(profile)
                    ring = found if found is not None else len(policy.steps)
                best = group.longest_waiting(
                    since, self.agents, TOP_CANDIDATES, skipping.__contains__, usable
                )
                if len(best) < TOP_CANDIDATES:  # the heap ran out: these are all usable now
                    count = len(best)
                search.consider_many(ring, count, best)
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
                    priority = lane.priority_of(head, now)
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
            if best.overflow_lane is not None and not agent.profile.meets(
                best.policy.requirements(best.step)
            ):
                explanation["overflow"] = self._overflow_explanation(best)
            self._offer(best, agent, now, explanation, out)
