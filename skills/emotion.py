"""Emotional urgency from text, Italian and English: fast, offline, explainable.

    negative = Σ category weight · (1.5 if intensified) over lexicon matches
               (a negated complaint does not count; a negated compliment is frustration)
             + shouting (words in capitals) + exclamation marks + negative emoji
    positive = 0.3 per compliment, thanks or positive emoji (not negated)
    urgency  = 1 − exp(−1.2 · max(0, negative − 0.5 · positive))       in [0, 1)

``label`` is negative, neutral or positive. Every score lists the signals it found, so
an agent or supervisor can see why a customer was judged upset. Patterns are compiled
once; scoring a message costs tens of microseconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cache

from skills.lexicons import (
    CATEGORY_WEIGHTS,
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE,
    NEGATIVE_EMOJI,
    POSITIVE,
    POSITIVE_EMOJI,
)
from skills.text import fold, phrase_pattern

LANGUAGES = ("it", "en")
NEGATION_WINDOW = 3  # words before a match that can negate it
INTENSIFIER_WINDOW = 2
POSITIVE_POINTS = 0.3
NEGATIVE_LABEL_AT = 0.3  # negative points (after positive damping) for the negative label
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    categories: tuple[tuple[str, float, re.Pattern[str]], ...]
    positive: re.Pattern[str]
    negations: frozenset[str]
    intensifiers: frozenset[str]


@cache
def _lexicon(language: str) -> _Lexicon:
    return _Lexicon(
        categories=tuple(
            (name, CATEGORY_WEIGHTS[name], phrase_pattern(entries))
            for name, entries in NEGATIVE[language].items()
        ),
        positive=phrase_pattern(POSITIVE[language]),
        negations=frozenset(NEGATIONS[language]),
        intensifiers=frozenset(INTENSIFIERS[language]),
    )


@dataclass(frozen=True, slots=True)
class EmotionScore:
    urgency: float
    label: str  # negative | neutral | positive
    negative: float
    positive: float
    signals: tuple[str, ...] = field(default=())
    source: str = "text"  # text | provider

    def as_dict(self) -> dict[str, object]:
        return {
            "urgency": round(self.urgency, 3),
            "label": self.label,
            "signals": list(self.signals),
            "source": self.source,
        }


NEUTRAL = EmotionScore(0.0, "neutral", 0.0, 0.0)


_CLAUSE_END = re.compile(r"[.!?;:,\n]")


def _preceding(folded: str, start: int, count: int) -> list[str]:
    """The last ``count`` words before ``start`` within the same clause."""
    window = folded[max(0, start - 60) : start]
    clause = _CLAUSE_END.split(window)[-1]
    return _WORD.findall(clause)[-count:]


def _shouting(text: str) -> int:
    """Words of three or more letters written all in capitals (not the whole message short)."""
    words = [w for w in re.findall(r"[^\W\d_]{3,}", text)]
    return sum(1 for w in words if w.isupper()) if len(words) >= 2 else 0


def score_text(text: str, language: str | None = None) -> EmotionScore:
    """Score one message. ``language`` picks the lexicon; unknown: both are used."""
    if not text.strip():
        return NEUTRAL
    folded = fold(text)
    languages = (language,) if language in LANGUAGES else LANGUAGES
    negative = positive = 0.0
    signals: list[str] = []
    for code in languages:
        lexicon = _lexicon(code)
        praise = list(lexicon.positive.finditer(folded))
        masked = [(m.start(), m.end()) for m in praise]
        for name, weight, pattern in lexicon.categories:
            hits = 0
            for match in pattern.finditer(folded):
                if any(start <= match.start() < end for start, end in masked):
                    continue  # part of praise: "problema risolto", "thanks again"
                before = _preceding(folded, match.start(), NEGATION_WINDOW)
                if (
                    name in ("anger", "frustration")
                    and lexicon.negations.intersection(before)
                    and not match.group().startswith(("non ", "not ", "no "))
                ):
                    signals.append(f"negated {name}: {match.group()}")
                    continue
                hits += 1
                if hits > 2:  # the same kind of complaint counts at most twice
                    continue
                boost = (
                    1.5 if lexicon.intensifiers.intersection(before[-INTENSIFIER_WINDOW:]) else 1.0
                )
                negative += weight * boost
                signals.append(f"{name}: {match.group()}" + (" (intensified)" if boost > 1 else ""))
        for match in praise:
            before = _preceding(folded, match.start(), NEGATION_WINDOW)
            if lexicon.negations.intersection(before):
                negative += CATEGORY_WEIGHTS["frustration"]
                signals.append(f"negated praise: {' '.join(before[-2:])} {match.group()}")
            else:
                positive += POSITIVE_POINTS
                signals.append(f"positive: {match.group()}")
    shouted = _shouting(text)
    if shouted:
        negative += min(0.15 * shouted, 0.45)
        signals.append(f"capitals: {shouted} words")
    exclamations = text.count("!")
    if exclamations:
        negative += min(0.08 * exclamations, 0.3)
        signals.append(f"exclamations: {exclamations}")
    sad = sum(1 for ch in text if ch in NEGATIVE_EMOJI)
    happy = sum(1 for ch in text if ch in POSITIVE_EMOJI)
    if sad:
        negative += min(0.35 * sad, 0.7)
        signals.append(f"negative emoji: {sad}")
    if happy:
        positive += POSITIVE_POINTS * min(happy, 2)
        signals.append(f"positive emoji: {happy}")
    raw = max(0.0, negative - 0.5 * positive)
    urgency = 1.0 - math.exp(-1.2 * raw)
    if raw >= NEGATIVE_LABEL_AT:
        label = "negative"
    elif positive > 0 and negative < 0.2:
        label = "positive"
    else:
        label = "neutral"
    return EmotionScore(urgency, label, negative, positive, tuple(signals))


def from_provider(sentiment: float) -> EmotionScore:
    """A gateway's or speech-analytics provider's sentiment (−1 upset .. +1 happy)."""
    sentiment = max(-1.0, min(1.0, sentiment))
    label = "negative" if sentiment <= -0.25 else "positive" if sentiment >= 0.25 else "neutral"
    return EmotionScore(
        max(0.0, -sentiment),
        label,
        max(0.0, -sentiment),
        max(0.0, sentiment),
        (f"provider sentiment {sentiment:+.2f}",),
        "provider",
    )


def combine(messages: list[EmotionScore]) -> EmotionScore:
    """A waiting contact's current emotion: its latest message, never calmer than the
    average of what it said before (upset customers don't cool down by writing again)."""
    if not messages:
        return NEUTRAL
    latest = messages[-1]
    if len(messages) == 1:
        return latest
    mean = sum(m.urgency for m in messages) / len(messages)
    repeats = len(messages) - 1
    urgency = min(1.0, max(latest.urgency, mean) + 0.05 * min(repeats, 4))
    signals = (*latest.signals, f"{len(messages)} messages while waiting")
    return EmotionScore(
        urgency,
        latest.label if latest.urgency >= mean else "negative",
        latest.negative,
        latest.positive,
        signals,
        latest.source,
    )
