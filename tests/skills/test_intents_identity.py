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
    phones_in_text,
)
from skills.intents import IntentMatcher, IntentSpec
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


def test_intents_are_tried_in_order_in_the_message_language_and_any() -> None:
    matcher = IntentMatcher(
        {
            "billing": IntentSpec(keywords={"it": ("bollett*",), "en": ("bill",)}),
            "brand": IntentSpec(keywords={"any": ("acme",)}),
            "lost_card": IntentSpec(keywords={"it": ("carta persa",)}, moment_of_truth=True),
        }
    )
    text = "ACME: bolletta sbagliata e carta   persa, the bill"

    def found(language: str | None) -> tuple[str, str] | None:
        match = matcher.match(text, language)
        return None if match is None else (match.name, match.phrase)

    assert found("it") == ("lost_card", "carta   persa")  # a moment of truth first
    assert found(None) == ("lost_card", "carta   persa")
    assert found("en") == ("billing", "bill")  # Italian phrases are not read as English
    assert found("de") == ("brand", "acme")  # only "any" phrases for other languages
    assert matcher.match("nothing here", None) is None


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


def test_a_browser_locale_does_not_override_the_text() -> None:
    typed = TRIAGER.triage(text="Mi hanno rubato la carta, aiuto!", language_hint="en-US")
    assert (typed.language, typed.language_source) == ("it", "detected")
    assert typed.intent is not None  # Italian keywords found the intent
    mute = TRIAGER.triage(text="12345", language_hint="fr-FR")
    assert (mute.language, mute.language_source) == ("fr", "hint")
    tagged = TRIAGER.triage(text="Mi hanno rubato la carta", language="en", language_hint="it")
    assert (tagged.language, tagged.language_source) == ("en", "gateway")  # a gateway's tag


def test_a_language_we_do_not_model_gets_a_neutral_urgency() -> None:
    german = TRIAGER.triage(text="Ich bin sehr verärgert, niemand antwortet mir!")
    assert german.language == "de"
    assert german.emotion.signals == ("language not modelled: de",)
    # a message of a contact without a language (a call's transcript) is read in its own
    transcript = TRIAGER.emotion("Ich bin sehr verärgert, niemand antwortet mir!", None)
    assert transcript.signals == ("language not modelled: de",)
    italian = TRIAGER.emotion("Sono furioso, nessuno mi risponde da giorni", None)
    assert "model (it)" in " ".join(italian.signals) and italian.label == "negative"
    provided = TRIAGER.triage(text="Ich bin sehr verärgert", sentiment=-0.8)
    assert provided.emotion.source == "provider" and provided.urgency == pytest.approx(0.8)


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


def test_phone_numbers_in_a_signature_are_found_and_other_numbers_are_not() -> None:
    text = (
        "Buongiorno, la fattura 2024/118 del 12/10/2024 (ordine 12345678, importo 1.234,56 €)"
        " non torna.\n\nCordiali saluti\nPaolo Neri\nCell. 347 123 4567\nUfficio: +39 02 1234 5678"
    )
    found = phones_in_text(text, "IT")
    assert found == [
        (Identity("phone", "+393471234567"), "347 123 4567"),
        (Identity("phone", "+390212345678"), "+39 02 1234 5678"),
    ]
    assert phones_in_text("Nessun numero qui, solo l'ordine 12345678.", "IT") == []
    assert phones_in_text("call me on (415) 555-0134", "US") == [
        (Identity("phone", "+14155550134"), "(415) 555-0134")
    ]
