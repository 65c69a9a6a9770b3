"""Small builders for engine tests: a compact config, agents and contacts."""

from __future__ import annotations

from router.engine import Engine
from router.models import NewContact, RoutePolicy
from router.rules.loader import parse_rules
from router.rules.planner import Planner
from router.states import Presence
from skills.vocabulary import AgentProfile, Channel

CONFIG = """
version: 1
languages: [it, en]
channels:
  voice:
    {sla: {target: 0.8, threshold: 20s}, capacity: 1, exclusive: true, offer_timeout: 15s,
     wrap_up: 30s}
  chat: {sla: {target: 0.8, threshold: 60s}, capacity: 3, offer_timeout: 30s, wrap_up: 15s}
  email: {sla: {target: 0.9, threshold: 4h}, capacity: 5, offer_timeout: 120s, wrap_up: 60s}
priority: {ageing_weight: 10, urgency_weight: 20, static_cap: 100}
offers: {max_consecutive_misses: 2, retry_same_agent_after: 5m, disconnect_grace: 60s}
expansion:
  - {after: 0s, min_proficiency: 4}
  - {after: 30s, min_proficiency: 2}
default_queue: general
preferred_agent: {policy: none}
queues:
  general: {skills: {}}
  billing: {skills: {billing: 1}}
  cards: {skills: {cards: 1}}
  tech: {skills: {tech: 1}}
rules:
  - name: vip-billing
    when: 'contact.attributes.vip == true && contact.intent == "billing"'
    queue: billing
    priority: 40
  - name: billing
    when: 'contact.intent == "billing"'
    queue: billing
    priority: 10
  - name: lost-card
    when: 'contact.intent == "lost_card"'
    queue: cards
    priority: 50
    skills: {empathy: 1}
    preferred_agent: {policy: last_unresolved, max_wait: 30s}
  - name: tech
    when: 'contact.intent == "tech"'
    queue: tech
"""

RULES = parse_rules(CONFIG, "test-config.yaml")
PLANNER = Planner(RULES)


def engine(**overrides: object) -> Engine:
    config = RULES.config.model_copy(update=overrides) if overrides else RULES.config
    return Engine(config)


def policy(intent: str, vip: bool = False) -> RoutePolicy:
    facts = {"contact": {"intent": intent, "attributes": {"vip": vip}}, "customer": {}}
    return PLANNER.plan(facts).policy


def contact(
    contact_id: str,
    intent: str = "billing",
    *,
    channel: Channel = Channel.CHAT,
    arrival: float = 0.0,
    language: str | None = "it",
    urgency: float = 0.0,
    preferred: str | None = None,
    history: float = 0.0,
) -> NewContact:
    return NewContact(
        contact_id=contact_id,
        channel=channel,
        arrival=arrival,
        policy=policy(intent),
        language=language,
        urgency=urgency,
        preferred_agent=preferred,
        history_boost=history,
        customer_id=f"cust-{contact_id}",
    )


def agent(
    agent_id: str,
    languages: tuple[str, ...] = ("it", "en"),
    capacity: dict[Channel, int] | None = None,
    **skills: int,
) -> AgentProfile:
    return AgentProfile(
        agent_id=agent_id,
        name=agent_id,
        skills=skills,
        languages=frozenset(languages),
        capacity=capacity or {},
    )


def online(eng: Engine, profile: AgentProfile, now: float = 0.0) -> None:
    eng.upsert_agent(profile, now)
    eng.connected(profile.agent_id, now)
    eng.set_presence(profile.agent_id, Presence.AVAILABLE, now)


def offers_to(eng: Engine, agent_id: str) -> list[str]:
    """Contact ids currently offered to this agent."""
    return sorted(o.contact_id for o in eng.agents[agent_id].offers.values())


def offer_id_for(eng: Engine, contact_id: str) -> str:
    offer_id = eng.contacts[contact_id].offer_id
    assert offer_id is not None, f"{contact_id} has no offer"
    return offer_id
