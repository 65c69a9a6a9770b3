"""Alerts for supervisors, worked out from the live state when the wallboard asks (never on
the routing path): queues whose waiting contacts no logged-in agent can serve, contacts
waiting past their SLA threshold, channels below their service-level target, and agents
away longer than their reason's limit."""

from __future__ import annotations

from typing import Any

from router.engine import Engine
from router.models import Agent, Contact
from router.states import ContactState, Presence

WAITING = (ContactState.QUEUED, ContactState.OFFERED)


def _widest(contact: Contact) -> tuple[tuple[str, int], ...]:
    """The requirements of the contact's last expansion step."""
    policy = contact.policy
    return policy.requirements(len(policy.steps) - 1 if policy.steps else 0)


def _could_serve(agent: Agent, contact: Contact) -> bool:
    """Logged in, and meets the contact's widest ring (its last expansion step)."""
    widest = _widest(contact)
    return (
        agent.presence is not Presence.OFFLINE
        and agent.capacity.get(contact.channel, 0) > 0
        and agent.profile.meets(widest)
        and agent.profile.speaks(contact.language_needed)
    )


def unstaffed(engine: Engine) -> list[dict[str, Any]]:
    """Queues with waiting contacts that no logged-in agent could take, even at the end of
    their expansion (an agent away counts: they may come back)."""
    logged_in = [a for a in engine.agents.values() if a.presence is not Presence.OFFLINE]
    found: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[Any, ...], bool] = {}
    for contact in engine.contacts.values():
        if contact.state is not ContactState.QUEUED:
            continue
        policy = contact.policy
        key = (policy.queue, contact.channel, _widest(contact), contact.language_needed)
        if key not in seen:
            seen[key] = any(_could_serve(agent, contact) for agent in logged_in)
        if seen[key]:
            continue
        entry = found.setdefault(
            policy.queue,
            {"kind": "unstaffed_queue", "queue": policy.queue, "waiting": 0, "channels": []},
        )
        entry["waiting"] += 1
        if contact.channel.value not in entry["channels"]:
            entry["channels"].append(contact.channel.value)
    return [found[queue] for queue in sorted(found)]


def sla_breaches(engine: Engine, now: float) -> list[dict[str, Any]]:
    """Per queue and channel: contacts still waiting past their SLA threshold."""
    breaches: dict[tuple[str, str], dict[str, Any]] = {}
    for contact in engine.contacts.values():
        if contact.state not in WAITING:
            continue
        threshold = engine.config.sla_for(contact.policy.queue, contact.channel).threshold
        waited = now - contact.arrival
        if waited <= threshold:
            continue
        key = (contact.policy.queue, contact.channel.value)
        entry = breaches.setdefault(
            key,
            {
                "kind": "sla_breach",
                "queue": key[0],
                "channel": key[1],
                "threshold": threshold,
                "waiting_past": 0,
                "oldest_wait_seconds": 0.0,
            },
        )
        entry["waiting_past"] += 1
        entry["oldest_wait_seconds"] = round(max(entry["oldest_wait_seconds"], waited), 3)
    return [breaches[key] for key in sorted(breaches)]


def below_target(sla: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Channels whose service level so far is under its target."""
    return [
        {
            "kind": "service_level",
            "channel": channel,
            "service_level": row["service_level"],
            "target": row["target"],
        }
        for channel, row in sorted(sla.items())
        if row.get("service_level") is not None and row["service_level"] < row["target"]
    ]


def over_limit(engine: Engine, now: float) -> list[dict[str, Any]]:
    """Agents away with a reason code longer than its limit."""
    alerts = []
    reasons = engine.config.agent_states.reasons
    for agent_id, agent in sorted(engine.agents.items()):
        spec = reasons.get(agent.presence_code) if agent.presence_code else None
        if agent.presence is not Presence.AWAY or spec is None or spec.limit is None:
            continue
        in_state = now - agent.presence_since
        if in_state > spec.limit:
            alerts.append(
                {
                    "kind": "state_limit",
                    "agent_id": agent_id,
                    "code": agent.presence_code,
                    "limit": spec.limit,
                    "seconds_in_state": round(in_state, 3),
                }
            )
    return alerts


def alerts(engine: Engine, now: float, sla: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        *unstaffed(engine),
        *sla_breaches(engine, now),
        *below_target(sla),
        *over_limit(engine, now),
    ]
