"""Overflow: a contact that has waited long enough in its queue also becomes eligible for
another queue's agents (queue.overflow in config.yaml), without leaving its own queue.

It gets a second entry in a lane of the other queue (that queue's skill floors, its own
language need), ranked there with the overflow rule's priority plus that queue's ageing
from the contact's arrival; it stays counted in its own queue (service level, metrics).
A free agent of either queue can take it; the offer's explanation says it overflowed.
Matching stays indexed: the extra entry is one more lane entry, nothing scans."""

from __future__ import annotations

from router.decisions import Decisions, Queued
from router.engine.state import EngineState
from router.explain import CandidateSearch
from router.lanes import LaneKey
from router.models import Contact
from router.rules.model import OverflowSpec
from router.states import ContactState, Presence
from router.timers import TimerKind


class Overflow(EngineState):
    def overflow_now(self, contact_id: str, rule: int, now: float) -> Decisions:
        """Apply a queue's overflow rule to a waiting contact now (the wait estimate passed
        its ``wait_above``; the caller estimates, router/estimate.py)."""
        contact = self._contact(contact_id)
        out = Decisions()
        specs = self.config.queues[contact.policy.queue].overflow
        if 0 <= rule < len(specs):
            self._enter_overflow(contact, rule, specs[rule], now, out)
        return out

    def _plan_overflow(self, contact: Contact, now: float, out: Decisions) -> None:
        spec = self.config.queues.get(contact.policy.queue)
        if spec is None or contact.overflow_lane is not None:
            return
        for index, rule in enumerate(spec.overflow):
            if rule.after is None:
                continue
            due = contact.arrival + rule.after
            if due <= now:
                self._enter_overflow(contact, index, rule, now, out)
                return
            self.timers.set(due, TimerKind.OVERFLOW, contact.contact_id, str(index))
            return  # one overflow at a time: the first rule with `after` decides

    def _overflow_due(self, contact: Contact, index: int, now: float, out: Decisions) -> None:
        specs = self.config.queues[contact.policy.queue].overflow
        if contact.overflow_lane is None and 0 <= index < len(specs):
            self._enter_overflow(contact, index, specs[index], now, out)

    def _enter_overflow(
        self, contact: Contact, index: int, rule: OverflowSpec, now: float, out: Decisions
    ) -> None:
        if (
            contact.state is not ContactState.QUEUED
            or contact.held_until > now
            or contact.reserved_for is not None
            or contact.lane is None
        ):
            return
        target = self.config.queues[rule.to]
        floors = tuple(sorted(target.skills.items()))
        key: LaneKey = (rule.to, contact.channel, floors, contact.language_needed)
        explanation: dict[str, object] = {
            "trigger": "overflow",
            "queue": contact.policy.queue,
            "overflow": {"to": rule.to, "rule": index, "priority": rule.priority},
        }
        search = CandidateSearch()
        for agent_id in self.index.candidates(contact.channel, floors):
            agent = self.agents[agent_id]
            if (
                agent.presence is Presence.AVAILABLE
                and agent.free_on(contact.channel)
                and not contact.skips(agent_id, now)
                and agent.profile.speaks(contact.language_needed)
                and agent.profile.meets(floors)
            ):
                search.consider(0, agent.idle_since, agent_id)
        chosen = search.best()
        if chosen is not None:
            explanation["chosen"] = chosen
            self._offer(contact, self.agents[chosen], now, explanation, out)
            return
        contact.overflow_static = rule.priority
        self.lanes.enter_overflow(contact, key, self.rate(rule.to, contact.channel), rule.priority)
        out.add(Queued(contact.contact_id, contact.policy.queue, "overflow", explanation))

    def _overflow_explanation(self, contact: Contact) -> dict[str, object]:
        lane = contact.overflow_lane
        return {"to": lane[0] if lane else None, "priority": contact.overflow_static}
