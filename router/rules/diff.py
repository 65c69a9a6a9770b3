"""What changed between two configs, in a few lines for the reload log and the API."""

from __future__ import annotations

from typing import Any

from router.rules.model import RoutingConfig


def _named(old: dict[str, Any], new: dict[str, Any], what: str) -> list[str]:
    changes = [f"{what} added: {name}" for name in new if name not in old]
    changes += [f"{what} removed: {name}" for name in old if name not in new]
    changes += [f"{what} changed: {name}" for name in new if name in old and old[name] != new[name]]
    return changes


def config_diff(old: RoutingConfig, new: RoutingConfig) -> list[str]:
    """Human-readable changes; empty when the configs are the same."""
    changes: list[str] = []
    changes += _named(old.queues, new.queues, "queue")
    old_rules = {rule.name: rule for rule in old.rules}
    new_rules = {rule.name: rule for rule in new.rules}
    changes += _named(old_rules, new_rules, "rule")
    if [r.name for r in old.rules if r.name in new_rules] != [
        r.name for r in new.rules if r.name in old_rules
    ]:
        changes.append("rule order changed")
    changes += _named(old.intents, new.intents, "intent")
    changes += _named(
        {c.value: s for c, s in old.channels.items()},
        {c.value: s for c, s in new.channels.items()},
        "channel",
    )
    for section in (
        "priority",
        "offers",
        "expansion",
        "preferred_agent",
        "triage",
        "languages",
        "default_queue",
        "agent_states",
        "reports",
        "calendars",
        "after_hours",
        "callbacks",
    ):
        if getattr(old, section) != getattr(new, section):
            changes.append(f"{section} changed")
    return changes
