"""Apply the rules to a contact: the first rule whose CEL condition holds decides.

The planner is pure (no I/O): it takes the facts about a contact and its customer and
returns the route policy plus a trace of which rules were tried, for the explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from router.models import RoutePolicy, Step
from router.rules.loader import RuleSet
from router.rules.model import PreferredAgentSpec, RoutingConfig, RuleSpec

DEFAULT_RULE = "(default queue)"


@dataclass(frozen=True, slots=True)
class Plan:
    policy: RoutePolicy
    preferred: PreferredAgentSpec | None
    trace: list[dict[str, str]] = field(default_factory=list)

    def explanation(self) -> dict[str, Any]:
        return {"rule": self.policy.rule, "queue": self.policy.queue, "rules_tried": self.trace}


def _policy(config: RoutingConfig, rule: RuleSpec | None) -> RoutePolicy:
    queue_name = rule.queue if rule else config.default_queue
    queue = config.queues[queue_name]
    skills = dict(queue.skills)
    if rule is not None:
        for name, level in rule.skills.items():
            skills[name] = max(level, skills.get(name, 0))
    steps = (rule.expansion if rule else None) or queue.expansion or config.expansion
    preferred = _preferred(config, rule)
    return RoutePolicy(
        rule=rule.name if rule else DEFAULT_RULE,
        queue=queue_name,
        base_priority=rule.priority if rule else 0.0,
        skills=tuple(sorted(skills.items())),
        match_language=rule.match_language if rule else True,
        steps=tuple(Step(step.after, step.min_proficiency) for step in steps),
        preferred_wait=preferred.max_wait if preferred else 0.0,
    )


def _preferred(config: RoutingConfig, rule: RuleSpec | None) -> PreferredAgentSpec | None:
    spec = rule.preferred_agent if rule and rule.preferred_agent else config.preferred_agent
    return None if spec.policy == "none" else spec


class Planner:
    """Matches contacts against a RuleSet; policies are built once per rule and shared."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        config = rules.config
        self._policies = {rule.spec.name: _policy(config, rule.spec) for rule in rules.rules}
        self._preferred = {rule.spec.name: _preferred(config, rule.spec) for rule in rules.rules}
        self._default = _policy(config, None)
        lookbacks = [spec.lookback for spec in self._preferred.values() if spec is not None]
        self.history_window = max([config.preferred_agent.lookback, *lookbacks])
        """How far back customer history is read (the widest preferred-agent lookback)."""

    @property
    def config(self) -> RoutingConfig:
        return self.rules.config

    def plan(self, facts: dict[str, Any]) -> Plan:
        """``facts`` is the CEL context: {"contact": {...}, "customer": {...}}."""
        trace: list[dict[str, str]] = []
        for rule in self.rules.rules:
            name = rule.spec.name
            try:
                result = rule.program.execute(facts)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                trace.append({"rule": name, "result": f"error: {exc}"})
                continue
            if result is True:
                trace.append({"rule": name, "result": "matched"})
                return Plan(self._policies[name], self._preferred[name], trace)
            trace.append(
                {
                    "rule": name,
                    "result": "no match" if result is False else f"not a boolean: {result!r}",
                }
            )
        return Plan(self._default, _preferred(self.config, None), trace)
