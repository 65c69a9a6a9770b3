"""Apply the rules to a contact: the first rule whose CEL condition holds decides.

The planner is pure (no I/O): it takes the facts about a contact and its customer and
returns the route policy plus a trace of which rules were tried, for the explanation.
Policies are shared by every contact they fit (built once per rule and variant).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cel

from router.models import RoutePolicy, Step
from router.rules.facts import fields_read
from router.rules.loader import RuleSet
from router.rules.model import PreferredAgentSpec, RoutingConfig, RuleSpec

DEFAULT_RULE = "(default queue)"
log = logging.getLogger("centralino.rules")


@dataclass(frozen=True, slots=True)
class Plan:
    policy: RoutePolicy
    preferred: PreferredAgentSpec | None
    trace: list[dict[str, str]] = field(default_factory=list)

    def explanation(self) -> dict[str, Any]:
        return {"rule": self.policy.rule, "queue": self.policy.queue, "rules_tried": self.trace}


def _policy(
    config: RoutingConfig,
    rule: RuleSpec | None,
    queue_name: str | None = None,
    name: str = DEFAULT_RULE,
) -> RoutePolicy:
    queue_name = rule.queue if rule else queue_name or config.default_queue
    queue = config.queues[queue_name]
    skills = dict(queue.skills)
    if rule is not None:
        for skill, level in rule.skills.items():
            skills[skill] = max(level, skills.get(skill, 0))
    steps = (rule.expansion if rule else None) or queue.expansion or config.expansion
    preferred = _preferred(config, rule)
    return RoutePolicy(
        rule=rule.name if rule else name,
        queue=queue_name,
        base_priority=rule.priority if rule else 0.0,
        skills=tuple(sorted(skills.items())),
        match_language=rule.match_language if rule else True,
        steps=tuple(Step(step.after, step.min_proficiency, step.share) for step in steps),
        preferred_wait=preferred.max_wait if preferred else 0.0,
    )


def _preferred(config: RoutingConfig, rule: RuleSpec | None) -> PreferredAgentSpec | None:
    spec = rule.preferred_agent if rule and rule.preferred_agent else config.preferred_agent
    return None if spec.policy == "none" else spec


class Planner:
    """Matches contacts against a RuleSet."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        config = rules.config
        self._policies = {rule.spec.name: _policy(config, rule.spec) for rule in rules.rules}
        self._preferred = {rule.spec.name: _preferred(config, rule.spec) for rule in rules.rules}
        self._default = _policy(config, None)
        self._variants: dict[tuple[Any, ...], RoutePolicy] = {}
        self._reads = fields_read([rule.spec.when for rule in rules.rules])
        self.rule_errors: dict[str, int] = {}
        """Run-time errors per rule name (shown in /metrics; the first one is logged)."""
        lookbacks = [spec.lookback for spec in self._preferred.values() if spec is not None]
        self.history_window = max(
            [config.preferred_agent.lookback, config.priority.history.repeat_window, *lookbacks]
        )
        """How far back customer history is read (the widest window any rule uses)."""

    @property
    def config(self) -> RoutingConfig:
        return self.rules.config

    def plan(
        self,
        facts: dict[str, Any],
        *,
        extra_skills: dict[str, int] | None = None,
        open_case_queue: str | None = None,
    ) -> Plan:
        """``facts`` is the CEL context: {"contact": {...}, "customer": {...}}.

        ``extra_skills`` (from triage, e.g. empathy for a moment of truth) are added to the
        matched rule's. ``open_case_queue``: when no rule matches and the config says
        ``triage.same_department``, the contact goes to the queue of the customer's
        unresolved case instead of the default queue.
        """
        trace: list[dict[str, str]] = []
        # the facts are converted to CEL values once, on the first rule, and reused by the
        # others (a plain dict would be converted again for every rule: 10x the cost)
        context = cel.Context(self._read_only(facts))
        for rule in self.rules.rules:
            name = rule.spec.name
            try:
                result = rule.program.execute(context)
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                trace.append({"rule": name, "result": f"error: {exc}"})
                self._rule_failed(rule.spec, rule.line, exc)
                continue
            if result is True:
                trace.append({"rule": name, "result": "matched"})
                policy = self._with_skills(self._policies[name], extra_skills)
                return Plan(policy, self._preferred[name], trace)
            trace.append(
                {
                    "rule": name,
                    "result": "no match" if result is False else f"not a boolean: {result!r}",
                }
            )
        policy = self._default
        if (
            open_case_queue is not None
            and open_case_queue in self.config.queues
            and open_case_queue != policy.queue
            and self.config.triage.same_department
        ):
            queue = open_case_queue
            policy = self._variant(
                ("open-case", queue),
                lambda: _policy(self.config, None, queue, f"(open case in {queue})"),
            )
            trace.append({"rule": policy.rule, "result": "same department as the open case"})
        return Plan(self._with_skills(policy, extra_skills), _preferred(self.config, None), trace)

    def _read_only(self, facts: dict[str, Any]) -> dict[str, Any]:
        """The facts the conditions read (all of them if that cannot be told)."""
        if self._reads is None:
            return facts
        read: dict[str, Any] = {}
        for variable, fields in self._reads.items():
            given = facts.get(variable)
            if isinstance(given, dict):
                read[variable] = {name: given[name] for name in fields if name in given}
            elif variable in facts:
                read[variable] = given
        return read

    def queue_policy(
        self, queue: str, name: str, extra_skills: dict[str, int] | None = None
    ) -> RoutePolicy:
        """The default policy of another queue (after-hours or overflow routing)."""
        policy = self._variant(
            ("queue", queue, name), lambda: _policy(self.config, None, queue, name)
        )
        return self._with_skills(policy, extra_skills)

    def _rule_failed(self, spec: RuleSpec, line: int | None, exc: Exception) -> None:
        count = self.rule_errors.get(spec.name, 0)
        self.rule_errors[spec.name] = count + 1
        if count == 0:
            where = f"{self.rules.source}:{line}" if line is not None else self.rules.source
            log.warning(
                "%s: rule %r fails at run time and counts as no match (%s: %s); "
                "logged once, counted in centralino_rule_errors",
                where,
                spec.name,
                type(exc).__name__,
                exc,
            )

    def _with_skills(self, policy: RoutePolicy, extra: dict[str, int] | None) -> RoutePolicy:
        if not extra:
            return policy

        def build() -> RoutePolicy:
            skills = dict(policy.skills)
            for name, level in extra.items():
                skills[name] = max(level, skills.get(name, 0))
            return replace(policy, skills=tuple(sorted(skills.items())))

        return self._variant((policy.rule, policy.queue, tuple(sorted(extra.items()))), build)

    def _variant(self, key: tuple[Any, ...], build: Callable[[], RoutePolicy]) -> RoutePolicy:
        policy = self._variants.get(key)
        if policy is None:
            policy = self._variants[key] = build()
        return policy
