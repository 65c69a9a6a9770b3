"""Small configs and scenarios for the simulator tests."""

from __future__ import annotations

from typing import Any

from router.rules.loader import RuleSet, parse_model, parse_rules
from router.simulation.loop import Simulation
from router.simulation.scenario import Scenario

ONE_SKILL = """
version: 1
languages: [it, en]
channels:
  voice: {sla: {target: 0.8, threshold: 20s}, capacity: 1, exclusive: true,
          offer_timeout: 15s, wrap_up: 0s}
  chat: {sla: {target: 0.8, threshold: 60s}, capacity: 3, offer_timeout: 15s, wrap_up: 0s}
priority: {ageing_weight: 10, urgency_weight: 0, static_cap: 100}
expansion: [{after: 0s, min_proficiency: 1}]
preferred_agent: {policy: none}
default_queue: support
queues:
  support: {skills: {support: 1}}
"""


def one_skill() -> RuleSet:
    return parse_rules(ONE_SKILL, "one_skill.yaml")


def scenario(text: str, **changes: Any) -> Scenario:
    parsed = parse_model(text, "scenario.yaml", Scenario)[0]
    return Scenario.model_validate(parsed.model_dump() | changes) if changes else parsed


def run(rules: RuleSet, plan: Scenario) -> Simulation:
    simulation = Simulation(rules, plan)
    simulation.run()
    return simulation
