"""Supervision: a supervisor moves a contact (to a named agent, or back to its queue away
from whoever holds it) or changes a waiting contact's priority. Each carries who did it and
why (``Supervised``), kept in the contact's explain log."""

from __future__ import annotations

import dataclasses

from router.decisions import Decisions, Explanation, NotAllowed, Supervised
from router.engine.state import EngineState
from router.priority import static_priority
from router.states import ContactState, OfferOutcome, Presence, advance_contact
from router.timers import TimerKind

MOVABLE = (ContactState.QUEUED, ContactState.OFFERED, ContactState.ASSIGNED)


class Supervision(EngineState):
    def reassign(
        self, contact_id: str, now: float, *, to_agent: str | None, reason: str, by: str
    ) -> Decisions:
        """Give a contact to ``to_agent`` now (an offer, whatever its queue order), or with no
        agent pull it from whoever is offered or holds it back to its queue (that agent is
        then skipped for it as after a rejection). Skills and language are not checked: the
        supervisor chose."""
        contact = self._contact(contact_id)
        if contact.state not in MOVABLE:
            raise NotAllowed(
                f"contact {contact_id} is {contact.state.value}: only a waiting, offered or "
                "assigned contact can be moved"
            )
        offer = self.offers.get(contact.offer_id or "")
        holder_id = offer.agent_id if offer is not None else contact.agent_id
        target = None
        if to_agent is not None:
            target = self._agent(to_agent)
            if to_agent == holder_id:
                raise NotAllowed(f"contact {contact_id} is already with {to_agent}")
            if target.presence is not Presence.AVAILABLE:
                raise NotAllowed(f"agent {to_agent} is {target.presence.value}, not available")
            if not target.free_on(contact.channel):
                raise NotAllowed(f"agent {to_agent} has no free {contact.channel.value} capacity")
        elif holder_id is None:
            raise NotAllowed(
                f"contact {contact_id} is already waiting in its queue; name an agent to give it to"
            )
        was_assigned = contact.state is ContactState.ASSIGNED
        out = Decisions()
        action = "reassign" if target is not None else "pull"
        out.add(
            Supervised(
                contact_id,
                action,
                by,
                reason,
                from_agent=holder_id,
                to_agent=to_agent,
                was_assigned=was_assigned,
            )
        )
        holder = self.agents.get(holder_id) if holder_id is not None else None
        if offer is not None:
            self._close_offer(offer, OfferOutcome.REVOKED, f"supervisor {by}: {reason}", out)
            contact.state = advance_contact(contact.state, ContactState.QUEUED)
        elif was_assigned and holder is not None:
            self._release(contact, holder)
            contact.state = advance_contact(contact.state, ContactState.QUEUED)
            contact.agent_id = None
        retry = self.config.offers.retry_same_agent_after
        if holder_id is not None and target is None and retry > 0:
            contact.skip_agents[holder_id] = now + retry
            self.timers.set(now + retry, TimerKind.SKIP_EXPIRY, contact_id, holder_id)
        if target is not None:
            explanation: Explanation = {
                "trigger": "supervisor",
                "rule": contact.policy.rule,
                "queue": contact.policy.queue,
                "chosen": target.agent_id,
                "by": by,
                "reason": reason,
                "note": "chosen by a supervisor: skills, language and queue order not checked",
            }
            self._offer(contact, target, now, explanation, out)
        else:
            self._route(contact, now, "pulled by supervisor", out)
        if holder is not None:
            self._after_release(holder, now, out)
        return out

    def set_priority(
        self, contact_id: str, priority: float, now: float, *, reason: str, by: str
    ) -> Decisions:
        """Replace a waiting contact's rule priority (its base); ageing, urgency and history
        still add to it. The contact moves within its lane at once."""
        contact = self._contact(contact_id)
        if contact.state not in (ContactState.QUEUED, ContactState.OFFERED):
            raise NotAllowed(
                f"contact {contact_id} is {contact.state.value}: only a waiting contact's "
                "priority can change"
            )
        before = contact.policy.base_priority
        contact.policy = dataclasses.replace(contact.policy, base_priority=priority)
        contact.static_priority = static_priority(
            self.config.priority,
            rule_priority=priority,
            urgency=contact.urgency,
            history=contact.history_boost,
        )
        if contact.state is ContactState.QUEUED and contact.lane is not None:
            key = contact.lane
            self.lanes.leave(contact)
            self.lanes.enter(contact, key, self.rate(key[0], key[1]))
        out = Decisions()
        out.add(
            Supervised(
                contact_id,
                "priority",
                by,
                reason,
                detail={
                    "from": before,
                    "to": priority,
                    "static_priority": round(contact.static_priority, 3),
                },
                policy=contact.policy,
            )
        )
        return out
