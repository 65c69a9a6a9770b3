"""Intents from keywords per language (configured in config.yaml), moments of truth first.

An intent matches when one of its phrases appears in the contact's subject or text (case
and accents ignored; "stem*" matches any ending). Intents are tried in config order, and
moments of truth (a lost card, a cancelled flight...) before the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from router.rules.model import IntentSpec
from skills.text import fold, phrase_pattern


@dataclass(frozen=True, slots=True)
class IntentMatch:
    name: str
    phrase: str
    spec: IntentSpec


class IntentMatcher:
    def __init__(self, intents: dict[str, IntentSpec]) -> None:
        ordered = sorted(intents.items(), key=lambda item: not item[1].moment_of_truth)
        self._patterns: list[tuple[str, IntentSpec, dict[str, re.Pattern[str]]]] = [
            (name, spec, {lang: phrase_pattern(words) for lang, words in spec.keywords.items()})
            for name, spec in ordered
        ]
        self.intents = intents

    def match(self, text: str, language: str | None) -> IntentMatch | None:
        """The first intent whose phrases occur; phrases of every language if unknown."""
        folded = fold(text)
        for name, spec, patterns in self._patterns:
            for lang, pattern in patterns.items():
                if language is not None and lang != language and lang != "any":
                    continue
                found = pattern.search(folded)
                if found is not None:
                    return IntentMatch(name, found.group(), spec)
        return None
