"""Intent keywords, moments of truth, and identity normalization."""

from __future__ import annotations

import pytest

from router.rules.loader import load_rules
from skills.identity import (
    Identity,
    InvalidIdentity,
    email_identity,
    handle_identity,
    phone_identity,
)
from skills.triage import Triager
from tests.paths import REPO

CONFIG = load_rules(REPO / "config.yaml").config
TRIAGER = Triager(CONFIG)


@pytest.mark.parametrize(
    ("text", "intent", "moment_of_truth"),
    [
        ("Mi hanno RUBATO la carta al mercato", "lost_card", True),
        ("Ho perso il bancomat, come lo blocco?", "lost_card", True),
        ("Il volo è stato cancellato e sono bloccato in aeroporto", "cancelled_flight", True),
        ("My flight was cancelled", "cancelled_flight", True),
        ("La lavatrice è arrivata rotta", "broken_product", True),
        ("Non ho internet da ieri sera", "service_down", True),
        ("Voglio fare disdetta", "cancel_account", False),
        ("La fattura di ottobre non torna", "billing", False),
        ("Can I get a refund for my booking?", "billing", False),
        ("Qual è l'orario di apertura?", None, False),
    ],
)
def test_intents_from_keywords(text: str, intent: str | None, moment_of_truth: bool) -> None:
    result = TRIAGER.triage(text=text)
    assert result.intent == intent
    assert result.moment_of_truth is moment_of_truth


def test_moment_of_truth_sets_urgency_floor_and_skills() -> None:
    calm = TRIAGER.triage(text="Salve, ho smarrito la carta", language="it")
    assert calm.intent == "lost_card"
    assert calm.urgency >= 0.7 and calm.extra_skills == {"empathy": 2}
    assert calm.intent_source == "keywords" and calm.intent_phrase


def test_gateway_hints_win() -> None:
    result = TRIAGER.triage(text="ok", language="en", intent="travel", sentiment=-0.9)
    assert (result.language, result.language_source) == ("en", "gateway")
    assert (result.intent, result.intent_source) == ("travel", "gateway")
    assert result.emotion.source == "provider" and result.urgency == pytest.approx(0.9)


def test_language_is_detected_when_missing() -> None:
    assert TRIAGER.triage(text="ok grazie").language == "it"
    assert TRIAGER.triage(text="ok thanks").language == "en"


def test_identities_are_normalized() -> None:
    assert email_identity(" Mario.Rossi@Example.IT ") == Identity("email", "mario.rossi@example.it")
    assert phone_identity("333 123 4567") == Identity("phone", "+393331234567")
    assert phone_identity("+39 333 1234567") == phone_identity("0039 333 1234567")
    assert phone_identity("020 7946 0018", "GB") == Identity("phone", "+442079460018")
    assert handle_identity("Instagram", "1784") == Identity("instagram", "1784")
    assert handle_identity("whatsapp", "393331234567") == phone_identity("333 123 4567")


@pytest.mark.parametrize("bad", ["not-a-number", "12", "+39 1"])
def test_bad_phone_numbers_are_refused(bad: str) -> None:
    with pytest.raises(InvalidIdentity):
        phone_identity(bad)


def test_bad_email_is_refused() -> None:
    with pytest.raises(InvalidIdentity):
        email_identity("mario@")
