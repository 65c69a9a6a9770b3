"""config.yaml loading: frozen models, CEL compiled at load, errors with file:line and rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from router.durations import format_duration, parse_duration
from router.rules.loader import ConfigError, load_rules, parse_rules
from router.rules.planner import DEFAULT_RULE, Planner
from tests.engine_helpers import CONFIG
from tests.paths import REPO

MINIMAL = """
default_queue: general
queues:
  general: {}
  billing: {skills: {billing: 2}}
rules:
  - name: billing
    when: 'contact.intent == "billing"'
    queue: billing
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "ops.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_shipped_config_loads_and_is_realistic() -> None:
    rules = load_rules(REPO / "config.yaml")
    config = rules.config
    assert {"billing", "cards", "travel", "tech"} <= set(config.queues)
    assert (
        config.channels["voice"].sla.threshold == 20 and config.channels["voice"].sla.target == 0.8
    )
    assert config.channels["chat"].sla.threshold == 60
    assert (
        config.channels["social"].sla.threshold == 1800
        and config.channels["social"].sla.target == 0.9
    )
    assert config.channels["email"].sla.threshold == 4 * 3600
    assert len(rules.rules) >= 5


def test_minimal_config_gets_defaults() -> None:
    config = parse_rules(MINIMAL).config
    assert config.channels["voice"].capacity == 1 and config.channels["voice"].exclusive
    assert config.channels["chat"].capacity == 3
    assert config.channels["social"].capacity == 4
    assert config.channels["email"].capacity == 5
    assert config.queues["billing"].skills == {"billing": 2}


def test_models_are_frozen() -> None:
    config = parse_rules(MINIMAL).config
    with pytest.raises(ValidationError):
        config.default_queue = "billing"  # type: ignore[misc]


def test_cel_syntax_error_names_file_line_and_rule() -> None:
    text = MINIMAL.replace("'contact.intent == \"billing\"'", "'contact.intent == '")
    (problem,) = problems(text)
    assert problem.startswith("ops.yaml:8: rule 'billing': when: invalid CEL")


def test_unknown_cel_variable_is_rejected_at_load() -> None:
    text = MINIMAL.replace("contact.intent", "ticket.intent")
    (problem,) = problems(text)
    assert "ops.yaml:8: rule 'billing'" in problem and "unknown name(s) ticket" in problem


def test_bad_field_names_line_and_rule() -> None:
    text = MINIMAL + "    priority: -5\n"
    (problem,) = problems(text)
    assert problem.startswith("ops.yaml:10: rule 'billing': rules.0.priority:")


def test_unknown_queue_and_duplicate_rule_names_are_reported() -> None:
    text = MINIMAL.replace("queue: billing", "queue: biling")
    (problem,) = problems(text)
    assert "queue 'biling' is not one of the queues" in problem


def test_expansion_may_only_relax() -> None:
    text = MINIMAL.replace(
        "billing: {skills: {billing: 2}}",
        "billing: {skills: {billing: 2}, expansion: "
        "[{after: 0, min_proficiency: 2}, {after: 30s, min_proficiency: 4}]}",
    )
    (problem,) = problems(text)
    assert "ops.yaml:5" in problem and "only relax" in problem


def test_yaml_syntax_error_has_line() -> None:
    (problem,) = problems("default_queue: general\nqueues: [unclosed\n")
    assert problem.startswith("ops.yaml:3: YAML:") or problem.startswith("ops.yaml:2: YAML:")


def test_every_problem_is_listed_and_nothing_is_returned() -> None:
    text = (
        MINIMAL + "  - name: broken\n    when: '(('\n    queue: general\n"
        "  - name: other\n    when: 'nope.x'\n    queue: general\n"
    )
    found = problems(text)
    assert len(found) == 2
    assert any("rule 'broken'" in p for p in found) and any("rule 'other'" in p for p in found)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")


def test_planner_first_match_wins_and_traces() -> None:
    planner = Planner(parse_rules(CONFIG))
    plan = planner.plan(
        {"contact": {"intent": "billing", "attributes": {"vip": True}}, "customer": {}}
    )
    assert plan.policy.rule == "vip-billing" and plan.policy.base_priority == 40
    assert plan.trace == [{"rule": "vip-billing", "result": "matched"}]


def test_planner_runtime_error_is_no_match_and_default_queue_catches_all() -> None:
    planner = Planner(parse_rules(CONFIG))
    plan = planner.plan({"contact": {"intent": "weather", "attributes": {}}, "customer": {}})
    assert plan.policy.rule == DEFAULT_RULE and plan.policy.queue == "general"
    assert [t["result"] for t in plan.trace] == ["no match"] * 4
    # attributes.vip missing: an error, reported, and the next rule decides
    plan = planner.plan({"contact": {"intent": "billing", "attributes": {}}, "customer": {}})
    assert plan.trace[0]["result"].startswith("error:")
    assert plan.policy.rule == "billing"


def test_rule_skills_add_to_queue_skills() -> None:
    planner = Planner(parse_rules(CONFIG))
    plan = planner.plan(
        {"contact": {"intent": "lost_card", "attributes": {"vip": False}}, "customer": {}}
    )
    assert plan.policy.skills == (("cards", 1), ("empathy", 1))
    assert plan.policy.preferred_wait == 30


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20),
        ("30m", 1800),
        ("4h", 14400),
        ("2d", 172800),
        (15, 15),
        ("1.5s", 1.5),
        ("250ms", 0.25),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["soon", "-5s", "10 minutes", True, None])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (20, 1800, 14400, 1.5)] == ["20s", "30m", "4h", "1.5s"]


def test_expansion_as_percentages_and_mixing_refused() -> None:
    ok = MINIMAL.replace(
        "billing: {skills: {billing: 2}}",
        "billing: {skills: {billing: 2}, expansion: "
        "[{after: 0s, min_proficiency: 4}, {after: 25%, min_proficiency: 2}]}",
    )
    step = parse_rules(ok).config.queues["billing"].expansion[1]  # type: ignore[index]
    assert (step.share, step.after) == (0.25, 0.0)
    mixed = MINIMAL.replace(
        "billing: {skills: {billing: 2}}",
        "billing: {skills: {billing: 2}, expansion: [{after: 0s, "
        "min_proficiency: 4}, {after: 25%, min_proficiency: 3}, "
        "{after: 90s, min_proficiency: 1}]}",
    )
    (problem,) = problems(mixed)
    assert "either durations or percentages" in problem
    bad = MINIMAL.replace(
        "billing: {skills: {billing: 2}}",
        "billing: {skills: {billing: 2}, expansion: [{after: 0s, "
        "min_proficiency: 4}, {after: 'lots%', min_proficiency: 3}]}",
    )
    assert "not a percentage" in problems(bad)[0]
