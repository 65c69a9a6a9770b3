"""config.yaml for the desktop: canned replies per queue and language, wrap-up outcomes."""

from __future__ import annotations

import pytest

from router.rules.loader import ConfigError, load_rules, parse_rules
from tests.paths import REPO

BASE = """
default_queue: general
queues:
  general:
    canned_replies:
      it: ["Buongiorno, come posso aiutarla?"]
      en: ["Hello, how can I help?"]
"""


def test_canned_replies_and_outcomes_load() -> None:
    config = parse_rules(
        BASE + "outcomes:\n  - {code: solved, label: {it: Risolto, en: Solved}}\n"
        "  - {code: callback, resolved: false}\n"
    ).config
    assert config.queues["general"].canned_replies["it"] == ("Buongiorno, come posso aiutarla?",)
    assert [(o.code, o.resolved) for o in config.outcomes] == [
        ("solved", True),
        ("callback", False),
    ]
    assert config.outcomes[0].label["en"] == "Solved"


def test_outcomes_are_optional_and_checked() -> None:
    assert parse_rules(BASE).config.outcomes == ()
    with pytest.raises(ConfigError) as twice:
        parse_rules(BASE + "outcomes: [{code: a}, {code: a}]\n", "ops.yaml")
    assert "listed twice" in str(twice.value.problems[0])
    with pytest.raises(ConfigError) as bad:
        parse_rules(BASE + "outcomes: [{code: 'Not a code!'}]\n", "ops.yaml")
    assert "ops.yaml" in str(bad.value.problems[0])


def test_the_shipped_config_offers_outcomes_and_billing_replies_in_both_languages() -> None:
    config = load_rules(REPO / "config.yaml").config
    assert {"solved", "callback"} <= {o.code for o in config.outcomes}
    assert set(config.queues["billing"].canned_replies) == {"it", "en"}
