"""The planner hands CEL only the fields the conditions read, and decides exactly as it
would with every fact."""

from __future__ import annotations

import random
from typing import Any

import cel

from router.rules.facts import FACT_SCHEMA, fields_read
from router.rules.loader import load_rules
from router.rules.planner import Planner
from tests.paths import REPO


def test_the_fields_of_each_variable_are_collected() -> None:
    read = fields_read(
        [
            'contact.intent == "billing" && customer.unresolved',
            'contact.attributes.tier == "gold" || has(contact.attributes.vip)',
            '"vip" in contact.text && contact.urgency > 0.5',
        ]
    )
    assert read == {
        "contact": frozenset({"intent", "attributes", "text", "urgency"}),
        "customer": frozenset({"unresolved"}),
    }
    assert fields_read(['"x" == "contact.text"']) == {}  # a string, not a path


def test_a_variable_read_whole_or_rebound_gives_every_fact() -> None:
    assert fields_read(['contact["intent"] == "billing"']) is None
    assert fields_read(["size(customer) > 0"]) is None
    assert fields_read(['["a"].exists(contact, contact == "a")']) is None


def random_facts(rng: random.Random) -> dict[str, Any]:
    contact = {
        "channel": rng.choice(["chat", "email", "voice", "social"]),
        "language": rng.choice(["it", "en", ""]),
        "intent": rng.choice(
            ["billing", "lost_card", "cancel_account", "service_down", "tech", "cards", ""]
        ),
        "moment_of_truth": rng.random() < 0.2,
        "emotion": rng.choice(["neutral", "angry", "anxious"]),
        "subject": "oggetto",
        "text": rng.choice(["la carta è stata rubata", "vorrei disdire", "ciao"]),
        "attributes": rng.choice([{}, {"tier": "gold"}, {"vip": True}]),
        "urgency": rng.random(),
        "customer_id": rng.choice(["", "c-1"]),
        "gateway": "gw",
    }
    customer = {
        "known": rng.random() < 0.5,
        "previous_contacts": rng.randrange(5),
        "unresolved": rng.random() < 0.3,
        "last_agent": rng.choice(["", "a1"]),
        "last_queue": rng.choice(["", "billing"]),
        "open_case": rng.random() < 0.2,
        "open_case_queue": rng.choice(["", "billing"]),
    }
    assert contact.keys() == FACT_SCHEMA["contact"].keys()
    assert customer.keys() == FACT_SCHEMA["customer"].keys()
    return {"contact": contact, "customer": customer}


def test_the_shipped_rules_decide_as_with_every_fact() -> None:
    planner = Planner(load_rules(REPO / "config.yaml"))
    assert planner._reads is not None  # the shipped rules let it prune
    rng = random.Random(7)
    for _ in range(500):
        facts = random_facts(rng)
        plan = planner.plan(facts)
        everything = cel.Context(facts)
        expected = next(
            (
                rule.spec.name
                for rule in planner.rules.rules
                if rule.program.execute(everything) is True
            ),
            None,
        )
        assert plan.policy.rule == (expected or planner._default.rule), facts
