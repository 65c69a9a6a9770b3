"""Rule conditions are checked against the facts that exist: field paths against the fact
schema, one evaluation on typed sample facts; run-time errors are logged once per rule."""

from __future__ import annotations

import logging

import pytest

from channels.contact import InboundContact
from router.intake_facts import rule_facts
from router.rules.facts import FACT_SCHEMA, field_paths, sample_facts
from router.rules.loader import ConfigError, parse_rules
from router.rules.planner import Planner
from router.store.histories import CustomerHistory
from skills.triage import Triager
from skills.vocabulary import Channel
from tests.engine_helpers import CONFIG
from tests.paths import REPO

BASE = """
default_queue: general
queues:
  general: {}
  billing: {}
rules:
  - name: r
    when: WHEN
    queue: billing
"""


def problems(when: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_rules(BASE.replace("WHEN", when), "ops.yaml")
    return [str(problem) for problem in caught.value.problems]


def loads(when: str) -> None:
    parse_rules(BASE.replace("WHEN", when), "ops.yaml")


def test_a_misspelt_field_is_reported_with_file_line_and_a_hint() -> None:
    (problem,) = problems("'contact.txt.matches(\"(?i)disdetta\")'")
    assert problem.startswith("ops.yaml:8: rule 'r': when: unknown field contact.txt")
    assert "did you mean contact.text?" in problem


def test_a_misspelt_field_under_has_is_reported_too() -> None:
    (problem,) = problems("'has(customer.opencase) && customer.open_case'")
    assert "unknown field customer.opencase" in problem


def test_a_field_of_a_string_is_reported() -> None:
    (problem,) = problems("'contact.channel.kind == \"x\"'")
    assert "contact.channel is a string and has no field 'kind'" in problem


def test_type_errors_show_on_the_sample_facts() -> None:
    (problem,) = problems("'contact.text > 3'")
    assert problem.startswith("ops.yaml:8: rule 'r': when: fails on sample facts: No such overload")


def test_a_condition_that_is_not_a_boolean_is_reported() -> None:
    (problem,) = problems("'contact.intent'")
    assert "is not a boolean condition" in problem


def test_string_literals_methods_attributes_and_comprehensions_pass() -> None:
    loads("'contact.text.matches(\"contact.txt customer.nope\")'")
    loads("'contact.attributes.tier == \"gold\"'")  # attributes: any key, maybe absent
    loads("'has(contact.attributes.a) && contact.attributes.a.b == 1'")
    loads('\'["a", "b"].exists(i, i == contact.intent)\'')
    loads("'contact.attributes.all(k, k != \"x\")'")
    loads("'contact.text.size() > 2 && contact.urgency >= 0.7'")


def test_comprehension_variables_are_skipped_but_real_unknown_names_are_not() -> None:
    paths, bound = field_paths('[1].exists(item, item.x > 0) && contact.intent == "a"')
    assert bound == {"item"} and paths == [("contact", "intent")]
    (problem,) = problems("'[1].exists(i, j > 0)'")
    assert "unknown name(s) j" in problem


def test_the_schema_is_what_intake_gives_the_rules() -> None:
    inbound = InboundContact(gateway="g", external_id="m", channel=Channel.CHAT, text="ciao")
    triage = Triager(parse_rules(CONFIG).config).triage(text=inbound.text, language="it")
    facts = rule_facts(inbound, triage, "c1", CustomerHistory(), None)
    assert {name: set(fields) for name, fields in facts.items()} == {
        name: set(fields) for name, fields in FACT_SCHEMA.items()
    }
    assert set(sample_facts()["contact"]) == set(FACT_SCHEMA["contact"])


def test_unknown_queue_has_a_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_rules(BASE.replace("WHEN", "'true'").replace("queue: billing", "queue: biling"))
    (problem,) = caught.value.problems
    assert problem.line == 9 and "queue 'biling' is not one of the queues" in problem.message


def test_the_shipped_config_passes() -> None:
    parse_rules((REPO / "config.yaml").read_text(), "config.yaml")


def test_a_run_time_error_is_logged_once_per_rule_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    planner = Planner(parse_rules(BASE.replace("WHEN", "'contact.attributes.tier == \"g\"'")))
    facts = sample_facts()
    with caplog.at_level(logging.WARNING, logger="centralino.rules"):
        for _ in range(3):
            plan = planner.plan(facts)
            assert plan.policy.queue == "general"
            assert plan.trace[0]["result"].startswith("error:")
    assert planner.rule_errors == {"r": 3}
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "config.yaml:7: rule 'r' fails at run time" in warnings[0]
