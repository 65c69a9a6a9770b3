"""The priority formula, in one place.

    priority(t) = static + rate · (t − arrival)

    static = min(static_cap, rule_priority + urgency_weight · urgency + history)
    history = repeat_unresolved (if this repeats an unresolved case)
            + per_transfer · min(transfers, max_transfers_counted)
    rate   = ageing_weight / sla_threshold(queue, channel)

Wait ageing is measured in SLA thresholds, so an email waiting 4 h and a call waiting 20 s
(each at its SLA) have aged the same. ``static`` is capped and ageing is not, which makes
routing starvation-free: within a lane a contact can be overtaken only by contacts that
arrived less than ``static_cap / rate`` seconds after it.

Because ``rate`` is fixed per (queue, channel), ordering by ``static − rate · arrival`` is
the same as ordering by priority at any t: heap keys never change while a contact waits.
"""

from __future__ import annotations

from router.rules.model import PrioritySpec, RoutingConfig
from skills.vocabulary import Channel


def history_boost(spec: PrioritySpec, *, repeat_unresolved: bool, transfers: int) -> float:
    boosts = spec.history
    points = boosts.per_transfer * min(transfers, boosts.max_transfers_counted)
    if repeat_unresolved:
        points += boosts.repeat_unresolved
    return points


def static_priority(
    spec: PrioritySpec, *, rule_priority: float, urgency: float, history: float
) -> float:
    urgency = min(max(urgency, 0.0), 1.0)
    raw = rule_priority + spec.urgency_weight * urgency + history
    return min(max(raw, 0.0), spec.static_cap)


def ageing_rate(config: RoutingConfig, queue: str, channel: Channel) -> float:
    """Points per second of waiting in this queue and channel."""
    return config.priority.ageing_weight / config.sla_for(queue, channel).threshold


def priority_at(static: float, rate: float, arrival: float, now: float) -> float:
    return static + rate * max(0.0, now - arrival)
