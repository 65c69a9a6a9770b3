"""Intents from keywords per language (configured in config.yaml), moments of truth first.

An intent matches when one of its phrases appears in the contact's subject or text (case
and accents ignored; "stem*" matches any ending). Intents are tried in config order, and
moments of truth (a lost card, a cancelled flight...) before the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skills.text import fold, matches, phrase_pattern, starts_pattern
from skills.vocabulary import check_skill_map, normalize_language


class IntentSpec(BaseModel):
    """An intent recognized from keywords per language (case and accents ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = ""
    keywords: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="language (or 'any') -> phrases; 'stem*' allowed"
    )
    moment_of_truth: bool = Field(False, description="high-stakes: tried first, urgent")
    urgency: float = Field(0.0, ge=0, le=1, description="at least this urgent when matched")
    skills: dict[str, int] = Field(default_factory=dict, description="extra skills it needs")

    _skills = field_validator("skills")(check_skill_map)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for language, phrases in value.items():
            if not phrases or any(not p.strip() for p in phrases):
                raise ValueError(f"keywords.{language}: give at least one non-empty phrase")
        return {normalize_language(lang): tuple(p) for lang, p in value.items()}


@dataclass(frozen=True, slots=True)
class IntentMatch:
    name: str
    phrase: str
    spec: IntentSpec


class IntentMatcher:
    """Finds the first intent whose phrases occur. One scan of the text finds where any
    phrase of the language begins; each intent's phrases are then tried only there, so a
    config with 50 intents does not search the text 50 times (skills/text.py)."""

    def __init__(self, intents: Mapping[str, IntentSpec]) -> None:
        ordered = sorted(intents.items(), key=lambda item: not item[1].moment_of_truth)
        self._patterns: list[tuple[str, IntentSpec, dict[str, re.Pattern[str]]]] = [
            (name, spec, {lang: phrase_pattern(words) for lang, words in spec.keywords.items()})
            for name, spec in ordered
        ]
        self._languages = {lang for _, spec, _ in self._patterns for lang in spec.keywords}
        # where a phrase a message's language reads begins, compiled now (1-3 ms each with
        # the shipped config), not on a language's first contact; "": a language no
        # intent names (only "any" phrases apply)
        self._starts = {
            key: starts_pattern(
                phrase
                for _, spec, _ in self._patterns
                for lang, words in spec.keywords.items()
                if _applies(lang, key)
                for phrase in words
            )
            for key in (None, "", *self._languages)
        }
        self.intents = intents

    def match(self, text: str, language: str | None) -> IntentMatch | None:
        """The first intent whose phrases occur; phrases of every language if unknown."""
        folded = fold(text)
        key = language if language is None or language in self._languages else ""
        starts = [found.start() for found in self._starts[key].finditer(folded)]
        if not starts:
            return None
        for name, spec, patterns in self._patterns:
            for lang, pattern in patterns.items():
                if not _applies(lang, language):
                    continue
                found = next(matches(pattern, folded, starts), None)
                if found is not None:
                    return IntentMatch(name, found.group(), spec)
        return None


def _applies(phrase_language: str, language: str | None) -> bool:
    """Whether phrases listed under ``phrase_language`` are read in a message in
    ``language`` (None: unknown, every language's are)."""
    return language is None or phrase_language in (language, "any")
