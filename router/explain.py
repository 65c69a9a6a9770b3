"""Explanations: why this agent, why this order, why still waiting.

Built while routing (cheaply: counts and a few examples, never a list of every agent) and,
on demand for the explain endpoint, by a full look at the agents who hold the skills.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from router.decisions import Explanation
from router.models import Agent, Contact, Requirements
from router.priority import priority_at
from router.states import Presence

TOP_CANDIDATES = 5
RANKINGS = {
    "bullseye": "narrowest bullseye ring first, then longest idle",
    "longest_idle": "longest idle",
    "round_robin": "offered longest ago (round robin)",
}
EXAMPLES_PER_REASON = 3


def priority_parts(
    contact: Contact, rate: float, urgency_weight: float, now: float
) -> dict[str, float]:
    ageing = rate * max(0.0, now - contact.arrival)
    return {
        "total": round(contact.static_priority + ageing, 4),
        "rule": contact.policy.base_priority,
        "urgency": round(urgency_weight * contact.urgency, 4),
        "history": round(contact.history_boost, 4),
        "static_capped": round(contact.static_priority, 4),
        "ageing": round(ageing, 4),
        "waited_seconds": round(max(0.0, now - contact.arrival), 3),
    }


def requirements_dict(requirements: Requirements) -> dict[str, int]:
    return dict(requirements)


@dataclass(slots=True)
class CandidateSearch:
    """Collects what happened while looking for an agent for one contact."""

    # the best eligible agents (every one, or each profile group's best): (ring, since, id)
    eligible: list[tuple[int, float, str]] = field(default_factory=list)
    eligible_count: int = 0
    excluded: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)

    def exclude(self, agent_id: str, reason: str) -> None:
        self.excluded[reason] += 1
        if self.excluded[reason] <= EXAMPLES_PER_REASON:
            self.examples.append({"agent": agent_id, "reason": reason})

    def exclude_many(self, agent_ids: Iterable[str], count: int, reason: str) -> None:
        """``count`` agents excluded for one reason; examples taken from ``agent_ids``."""
        room = EXAMPLES_PER_REASON - self.excluded[reason]
        self.excluded[reason] += count
        for agent_id in islice(agent_ids, max(0, room)):
            self.examples.append({"agent": agent_id, "reason": reason})

    def consider(self, ring: int, idle_since: float, agent_id: str) -> None:
        self.eligible.append((ring, idle_since, agent_id))
        self.eligible_count += 1

    def consider_many(self, ring: int, count: int, best: Iterable[tuple[float, str]]) -> None:
        """``count`` eligible agents of one ring, of which ``best`` are the longest waiting
        (at least TOP_CANDIDATES of them, or all)."""
        self.eligible.extend((ring, since, agent_id) for since, agent_id in best)
        self.eligible_count += count

    def best(self) -> str | None:
        return min(self.eligible)[2] if self.eligible else None

    def as_dict(self, now: float, ranking: str = RANKINGS["bullseye"]) -> dict[str, Any]:
        top = heapq.nsmallest(TOP_CANDIDATES, self.eligible)
        return {
            "considered": self.eligible_count + sum(self.excluded.values()),
            "eligible": self.eligible_count,
            "ranking": ranking,
            "candidates": [
                {"agent": agent_id, "ring": ring, "idle_seconds": round(now - idle, 3)}
                for ring, idle, agent_id in top
            ],
            "excluded": dict(self.excluded),
            "excluded_examples": self.examples,
        }


def why_not(agent: Agent, contact: Contact, requirements: Requirements, now: float) -> str | None:
    """Why this agent cannot take this contact now; None when it can."""
    if agent.presence is not Presence.AVAILABLE:
        reason = f"presence {agent.presence.value}"
        return f"{reason} ({agent.presence_reason})" if agent.presence_reason else reason
    if contact.skips(agent.agent_id, now):
        until = contact.skip_agents[agent.agent_id]
        return (
            "transferred it or declined it"
            if until == float("inf")
            else "declined or missed it recently"
        )
    if not agent.profile.speaks(contact.language_needed):
        return f"does not speak {contact.language_needed}"
    for skill, level in requirements:
        held = agent.profile.level(skill)
        if held < level:
            return f"{skill} proficiency {held} < {level} required at this step"
    if agent.capacity.get(contact.channel, 0) == 0:
        return f"does not handle {contact.channel.value}"
    if not agent.free_on(contact.channel):
        return f"no free {contact.channel.value} capacity ({agent.used(contact.channel)} in use)"
    return None


def waiting_explanation(
    contact: Contact, agents: list[Agent], requirements: Requirements, now: float
) -> Explanation:
    reasons: Counter[str] = Counter()
    examples: list[dict[str, str]] = []
    for agent in agents:
        reason = why_not(agent, contact, requirements, now)
        key = reason.split(" (")[0] if reason else "could take it now"
        reasons[key] += 1
        if len(examples) < 20:
            examples.append({"agent": agent.agent_id, "reason": reason or "could take it now"})
    return {
        "agents_with_skills": len(agents),
        "reasons": dict(reasons),
        "examples": examples,
    }


def pick_explanation(
    contact: Contact,
    rate: float,
    urgency_weight: float,
    now: float,
    lanes_compared: int,
    runner_up: float | None,
) -> Explanation:
    """Explanation when a freed agent picked this contact from the lanes."""
    return {
        "trigger": "agent_free",
        "ranking": "highest priority among the lanes this agent can serve",
        "lanes_compared": lanes_compared,
        "priority": priority_parts(contact, rate, urgency_weight, now),
        "runner_up_priority": None if runner_up is None else round(runner_up, 4),
    }


def current_priority(contact: Contact, rate: float, now: float) -> float:
    return priority_at(contact.static_priority, rate, contact.arrival, now)
