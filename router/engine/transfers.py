"""Transfers: an assigned contact goes to another queue, skill set or named agent, keeping
its arrival time; each transfer counts as a bounce and excludes the sender."""

from __future__ import annotations

from router.decisions import (
    Decisions,
    NotAllowed,
    Transferred,
    UnknownAgent,
)
from router.engine.state import NEVER, EngineState
from router.models import RoutePolicy, Step
from router.priority import static_priority
from router.states import ContactState, advance_contact


class Transfers(EngineState):
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
