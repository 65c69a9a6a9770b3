"""Read-only snapshots of the live engine for supervisors, desktops and the explain endpoint.

These walk the live state on request (not on the routing hot path).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from router.engine import Engine
from router.explain import current_priority, priority_parts, waiting_explanation
from router.models import Agent, Contact
from router.states import ContactState


def contact_view(engine: Engine, contact: Contact, now: float) -> dict[str, Any]:
    rate = engine.rate(contact.policy.queue, contact.channel)
    return {
        "contact_id": contact.contact_id,
        "state": contact.state.value,
        "channel": contact.channel.value,
        "queue": contact.policy.queue,
        "rule": contact.policy.rule,
        "language": contact.language,
        "waited_seconds": round(max(0.0, now - contact.arrival), 3),
        "urgency": round(contact.urgency, 3),
        "step": contact.step,
        "requirements": dict(contact.policy.requirements(contact.step)),
        "priority": priority_parts(contact, rate, engine.config.priority.urgency_weight, now),
        "reserved_for": contact.reserved_for,
        "held_until": contact.held_until or None,  # a callback at a chosen time
        "offer_id": contact.offer_id,
        "agent_id": contact.agent_id,
        "transfers": contact.transfers,
        "offers_made": contact.offers_made,
    }


def queue_summary(engine: Engine, now: float) -> list[dict[str, Any]]:
    waiting: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    oldest: dict[str, float] = {}
    handling: dict[str, int] = defaultdict(int)
    for contact in engine.contacts.values():
        queue = contact.policy.queue
        if contact.state in (ContactState.QUEUED, ContactState.OFFERED):
            waiting[queue][contact.channel.value] += 1
            oldest[queue] = min(oldest.get(queue, now), contact.arrival)
        else:
            handling[queue] += 1
    summary = []
    for name, spec in engine.config.queues.items():
        summary.append(
            {
                "queue": name,
                "description": spec.description,
                "waiting": dict(waiting.get(name, {})),
                "waiting_total": sum(waiting.get(name, {}).values()),
                "oldest_wait_seconds": round(now - oldest[name], 3) if name in oldest else 0.0,
                "in_progress": handling.get(name, 0),
            }
        )
    return summary


def queue_contacts(engine: Engine, queue: str, now: float, limit: int) -> list[dict[str, Any]]:
    """Waiting contacts of a queue, highest current priority first."""
    live = [
        c
        for c in engine.contacts.values()
        if c.policy.queue == queue and c.state in (ContactState.QUEUED, ContactState.OFFERED)
    ]
    live.sort(key=lambda c: -current_priority(c, engine.rate(queue, c.channel), now))
    return [contact_view(engine, c, now) for c in live[:limit]]


def agent_view(agent: Agent, now: float, limit: float | None = None) -> dict[str, Any]:
    """``limit``: the time limit of the agent's away reason, if it has one."""
    in_state = max(0.0, now - agent.presence_since)
    return {
        "agent_id": agent.agent_id,
        "name": agent.profile.name,
        "presence": agent.presence.value,
        "reason": agent.presence_reason,
        "code": agent.presence_code,
        "since": agent.presence_since,
        "seconds_in_state": round(in_state, 3),
        "limit_seconds": limit,
        "over_limit": limit is not None and in_state > limit,
        "forced_by": agent.forced_by,
        "connected": agent.connected,
        "skills": dict(agent.profile.skills),
        "languages": sorted(agent.profile.languages),
        "capacity": {channel.value: n for channel, n in agent.capacity.items()},
        "load": {channel.value: len(held) for channel, held in agent.load.items() if held},
        "offers": sorted(agent.offers),
        "contacts": sorted(c for held in agent.load.values() for c in held),
        "idle_seconds": round(max(0.0, now - agent.idle_since), 3)
        if not agent.busy_channels()
        else 0.0,
        "consecutive_misses": agent.consecutive_misses,
    }


def reason_limit(engine: Engine, agent: Agent) -> float | None:
    """The time limit of the agent's current away reason, if it has one."""
    if not agent.presence_code:
        return None
    spec = engine.config.agent_states.reasons.get(agent.presence_code)
    return spec.limit if spec is not None else None


def live_agent_view(engine: Engine, agent: Agent, now: float) -> dict[str, Any]:
    return agent_view(agent, now, reason_limit(engine, agent))


def why_waiting(engine: Engine, contact: Contact, now: float) -> dict[str, Any]:
    """For a waiting contact: every agent holding its skills and why each cannot take it."""
    requirements = contact.policy.requirements(contact.step)
    if requirements:
        holders = set.intersection(*(engine.index.by_skill.get(s, set()) for s, _ in requirements))
    else:
        holders = set(engine.agents)
    agents = [engine.agents[a] for a in sorted(holders)]
    return waiting_explanation(contact, agents, requirements, now)
