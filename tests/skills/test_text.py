"""Accent folding and the keyword patterns: tries that find what a flat list finds."""

from __future__ import annotations

import random
import re

import pytest

from skills.lexicons import NEGATIVE, POSITIVE, SARCASM
from skills.text import fold, matches, phrase_pattern, starts_pattern


def flat_pattern(entries: list[str]) -> re.Pattern[str]:
    """The patterns as they were before the tries: one branch an entry, longest first."""
    parts = []
    for entry in sorted({fold(e).strip() for e in entries}, key=len, reverse=True):
        body = re.escape(entry.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"[\w']*" if entry.endswith("*") else r"(?![\w'])"))
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")")


def found(pattern: re.Pattern[str], text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in pattern.finditer(fold(text))]


def test_accents_and_case_are_folded() -> None:
    assert fold("Perché PIÙ caffè’") == "perche piu caffe'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("non funziona più", [(0, "non funziona piu")]),  # the longest entry sharing a start
        ("non funziona", [(0, "non funziona")]),
        ("non funzionava", [(0, "non funzionava")]),  # a stem's ending
        ("non    funziona\npiù", [(0, "non    funziona\npiu")]),  # any white space
        ("l'avvocato", [(2, "avvocato")]),  # after an elision
        ("avvocatessa", []),  # an entry is a whole word, a stem is not
        ("avvocati!", []),
        ("ri-avvocato", [(3, "avvocato")]),
        ("preavvocato", []),  # not inside a word
    ],
)
def test_a_trie_finds_whole_entries_the_longest_first(
    text: str, expected: list[tuple[int, str]]
) -> None:
    pattern = phrase_pattern(["non funziona", "non funziona piu", "non funzion*", "avvocato"])
    assert found(pattern, text) == expected


def test_the_words_of_an_entry_are_apart_by_any_white_space() -> None:
    pattern = phrase_pattern(["carta\tpersa", "carta persa  subito"])
    assert found(pattern, "carta persa") == [(0, "carta persa")]
    assert found(pattern, "carta\npersa subito") == [(0, "carta\npersa subito")]


def test_no_entries_match_nothing() -> None:
    assert phrase_pattern([]).search("anything") is None
    assert starts_pattern(["", "  "]).search("anything") is None


def test_the_shipped_lexicons_find_what_a_flat_list_finds() -> None:
    """Messages made of the lexicons' own words, their stems' endings and filler: every
    category's trie finds the same spans as the flat alternation, and so does the trie tried
    only where the language's scan of all entries found a beginning."""
    rng = random.Random(7)
    for language in ("it", "en"):
        lists = [*NEGATIVE[language].values(), POSITIVE[language], SARCASM[language]]
        every = [entry for group in lists for entry in group]
        phrases = [entry.replace("*", "") for entry in every]  # whole, stems without "*"
        words = phrases + [word for phrase in phrases for word in phrase.split()]
        words += ["a", "l'", "non", "not", "molto", "very", "o", "ing", "!", ",", "\n", "xx"]
        starts = starts_pattern(every)
        for _ in range(300):
            pieces = [rng.choice(words) for _ in range(rng.randint(1, 25))]
            text = fold("".join(p + rng.choice((" ", " ", "", "  ")) for p in pieces))
            begins = [m.start() for m in starts.finditer(text)]
            for entries in lists:
                trie, flat = phrase_pattern(entries), flat_pattern(list(entries))
                assert found(trie, text) == found(flat, text), text
                tried = [(m.start(), m.group()) for m in matches(trie, text, begins)]
                assert tried == found(flat, text), text
