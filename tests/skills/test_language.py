"""Offline language detection on short customer messages."""

from __future__ import annotations

import pytest

from skills.language import LanguageDetector

DETECTOR = LanguageDetector(("it", "en", "de", "fr"))


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("ok grazie", "it"),
        ("grazie mille", "it"),
        ("la mia carta", "it"),
        ("Buongiorno", "it"),
        ("ok thanks", "en"),
        ("thank you", "en"),
        ("my card was stolen", "en"),
        ("Danke schön", "de"),
        ("merci beaucoup", "fr"),
        ("Mi hanno addebitato due volte la bolletta di ottobre", "it"),
        ("I was charged twice for my October bill", "en"),
    ],
)
def test_detects_short_messages(text: str, language: str) -> None:
    assert DETECTOR.detect(text) == language


def test_unsure_or_empty_is_none() -> None:
    assert DETECTOR.detect("") is None
    assert DETECTOR.detect("   ") is None
    assert DETECTOR.detect("12345 !!!") is None


def test_only_configured_languages_are_answered() -> None:
    italian_english = LanguageDetector(("it", "en"))
    assert italian_english.detect("merci beaucoup") in ("it", "en", None)
    assert italian_english.languages == ("en", "it")


def test_unknown_codes_in_config_are_ignored() -> None:
    assert LanguageDetector(("it", "xx")).languages == ("it",)
    assert LanguageDetector(("it", "xx")).detect("anything at all") == "it"


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        # the text decides: an Italian message typed in an en-US browser is Italian
        ("Non riesco ad accedere al mio conto, perché????", "en-US", "it"),
        ("I can't log into my account", "it-IT", "en"),
        # nothing to go on: the hint stands in
        ("12345 !!!", "it_IT", "it"),
        ("", "en", "en"),
        # a locale we do not serve is no hint at all
        ("12345 !!!", "pt-BR", None),
    ],
)
def test_a_browser_locale_only_breaks_ties(text: str, hint: str, language: str | None) -> None:
    assert DETECTOR.detect(text, hint=hint) == language
