"""Explainable cues in a customer's message: lexicon categories, praise, sarcasm, shouting.

The cues are what an agent can read: "legal: avvocato", "sarcasm: grazie per niente",
"capitals: 3 words". They feed the urgency model as features (skills/features.py), set
floors for moments of truth (a legal or churn threat, distress) and keep the old lexicon
score (``lexicon_negative``) as one more input.

    lexicon_negative = Σ category weight · (1.5 if intensified) over lexicon matches
                       (a negated complaint does not count; a negated compliment is
                       frustration; sarcasm counts as frustration)
                     + shouting (words in capitals) + exclamation marks + negative emoji
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from skills.lexicons import (
    CATEGORY_FLOORS,
    CATEGORY_WEIGHTS,
    INTENSIFIERS,
    NEGATIONS,
    NEGATIVE,
    NEGATIVE_EMOJI,
    POSITIVE,
    POSITIVE_EMOJI,
    SARCASM,
)
from skills.text import fold, matches, phrase_pattern, starts_pattern

LANGUAGES = ("it", "en")
NEGATION_WINDOW = 3  # words before a match that can negate it
INTENSIFIER_WINDOW = 2
MAX_HITS_PER_CATEGORY = 2
_WORD = re.compile(r"[\w']+")
_CLAUSE_END = re.compile(r"[.!?;:,\n]")
_REPEATED_MARKS = re.compile(r"[!?]{2,}")
_SAD_EMOJI = re.compile("[" + re.escape("".join(sorted(NEGATIVE_EMOJI))) + "]")
_HAPPY_EMOJI = re.compile("[" + re.escape("".join(sorted(POSITIVE_EMOJI))) + "]")
_LETTERS = re.compile(r"[^\W\d_]{3,}")


@dataclass(frozen=True, slots=True)
class _Lexicon:
    categories: tuple[tuple[str, float, re.Pattern[str]], ...]
    positive: re.Pattern[str]
    sarcasm: re.Pattern[str]
    starts: re.Pattern[str]  # where any entry above begins: one scan finds where to try them
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
        sarcasm=phrase_pattern(SARCASM[language]),
        starts=starts_pattern(
            [e for entries in NEGATIVE[language].values() for e in entries]
            + [*POSITIVE[language], *SARCASM[language]]
        ),
        negations=frozenset(NEGATIONS[language]),
        intensifiers=frozenset(INTENSIFIERS[language]),
    )


@dataclass(frozen=True, slots=True)
class Cues:
    hits: tuple[tuple[str, str, bool], ...]  # (category, phrase, intensified), counted
    negated: tuple[tuple[str, str], ...]  # (category, phrase) cancelled by a negation
    praise: tuple[str, ...]
    negated_praise: tuple[str, ...]
    sarcasm: tuple[str, ...]
    capitals: int  # words of 3+ letters in capitals
    exclamations: int
    questions: int
    repeated_marks: int  # runs like "!!!", "???", "?!"
    sad_emoji: int
    happy_emoji: int

    @property
    def categories(self) -> frozenset[str]:
        """The lexicon categories counted here, plus "negated_praise" and "sarcasm"."""
        found = {category for category, _, _ in self.hits}
        if self.negated_praise:
            found.add("negated_praise")
        if self.sarcasm:
            found.add("sarcasm")
        return frozenset(found)

    def floor(self) -> tuple[float, tuple[str, ...]]:
        """The least urgency the moments of truth found here guarantee, and their names:
        one category gives its floor; several are more than any one of them
        (1 − Π (1 − floor), so a legal threat plus a churn threat beats either alone)."""
        found = tuple(sorted(c for c in self.categories if c in CATEGORY_FLOORS))
        remaining = 1.0
        for category in found:
            remaining *= 1.0 - CATEGORY_FLOORS[category]
        return 1.0 - remaining, found

    @property
    def lexicon_negative(self) -> float:
        points = sum(CATEGORY_WEIGHTS[c] * (1.5 if boosted else 1.0) for c, _, boosted in self.hits)
        points += CATEGORY_WEIGHTS["frustration"] * (len(self.negated_praise) + len(self.sarcasm))
        points += min(0.15 * self.capitals, 0.45) + min(0.08 * self.exclamations, 0.3)
        return points + min(0.35 * self.sad_emoji, 0.7)

    @property
    def lexicon_positive(self) -> float:
        return 0.3 * (len(self.praise) + min(self.happy_emoji, 2))

    def signals(self) -> list[str]:
        found = [f"{c}: {p}" + (" (intensified)" if boosted else "") for c, p, boosted in self.hits]
        found += [f"negated {c}: {p}" for c, p in self.negated]
        found += [f"sarcasm: {p}" for p in self.sarcasm]
        found += [f"negated praise: {p}" for p in self.negated_praise]
        found += [f"positive: {p}" for p in self.praise]
        if self.capitals:
            found.append(f"capitals: {self.capitals} words")
        if self.exclamations:
            found.append(f"exclamations: {self.exclamations}")
        if self.repeated_marks:
            found.append(f"repeated ?/!: {self.repeated_marks}")
        if self.sad_emoji:
            found.append(f"negative emoji: {self.sad_emoji}")
        if self.happy_emoji:
            found.append(f"positive emoji: {self.happy_emoji}")
        return found

    def feature_tokens(self) -> list[str]:
        """The cues as model features (see skills/features.py)."""
        tokens = [f"<lex:{c}>" for c, _, _ in self.hits]
        tokens += ["<lex:negated>"] * len(self.negated)
        tokens += ["<lex:sarcasm>"] * len(self.sarcasm)
        tokens += ["<lex:negated-praise>"] * len(self.negated_praise)
        tokens += ["<lex:praise>"] * len(self.praise)
        tokens.append(f"<caps:{min(self.capitals, 3)}>")
        tokens.append(f"<excl:{min(self.exclamations, 3)}>")
        tokens.append(f"<quest:{min(self.questions, 3)}>")
        tokens.append(f"<marks:{min(self.repeated_marks, 2)}>")
        tokens += ["<emoji:sad>"] * min(self.sad_emoji, 2)
        tokens += ["<emoji:happy>"] * min(self.happy_emoji, 2)
        raw = self.lexicon_negative - 0.5 * self.lexicon_positive
        tokens.append(f"<lexscore:{min(int(max(raw, 0.0) / 0.3), 4)}>")
        return tokens


def _preceding(folded: str, start: int, count: int) -> list[str]:
    """The last ``count`` words before ``start`` within the same clause."""
    window = folded[max(0, start - 60) : start]
    clause = _CLAUSE_END.split(window)[-1]
    return _WORD.findall(clause)[-count:]


def _shouting(text: str) -> int:
    """Words of three or more letters written all in capitals (not the whole message short)."""
    words = _LETTERS.findall(text)
    return sum(1 for w in words if w.isupper()) if len(words) >= 2 else 0


def find_cues(text: str, language: str | None = None) -> Cues:
    """The cues of one message; ``language`` picks the lexicon, unknown: both are used."""
    folded = fold(text)
    hits: list[tuple[str, str, bool]] = []
    negated: list[tuple[str, str]] = []
    praise: list[str] = []
    negated_praise: list[str] = []
    sarcasm: list[str] = []
    for code in (language,) if language in LANGUAGES else LANGUAGES:
        lexicon = _lexicon(code)
        starts = [found.start() for found in lexicon.starts.finditer(folded)]
        ironic = list(matches(lexicon.sarcasm, folded, starts))
        sarcasm += [m.group() for m in ironic]
        ironic_spans = [(m.start(), m.end()) for m in ironic]
        praised = [
            m
            for m in matches(lexicon.positive, folded, starts)
            if not any(start <= m.start() < end for start, end in ironic_spans)
        ]
        masked = [(m.start(), m.end()) for m in praised]
        for name, _, pattern in lexicon.categories:
            count = 0
            for match in matches(pattern, folded, starts):
                if any(start <= match.start() < end for start, end in masked):
                    continue  # part of praise: "problema risolto", "thanks again"
                before = _preceding(folded, match.start(), NEGATION_WINDOW)
                if (
                    name in ("anger", "frustration")
                    and lexicon.negations.intersection(before)
                    and not match.group().startswith(("non ", "not ", "no "))
                ):
                    negated.append((name, match.group()))
                    continue
                count += 1
                if count > MAX_HITS_PER_CATEGORY:  # the same kind of complaint counts twice
                    continue
                boosted = bool(lexicon.intensifiers.intersection(before[-INTENSIFIER_WINDOW:]))
                hits.append((name, match.group(), boosted))
        for match in praised:
            before = _preceding(folded, match.start(), NEGATION_WINDOW)
            if lexicon.negations.intersection(before):
                negated_praise.append(f"{' '.join(before[-2:])} {match.group()}")
            else:
                praise.append(match.group())
    return Cues(
        hits=tuple(hits),
        negated=tuple(negated),
        praise=tuple(praise),
        negated_praise=tuple(negated_praise),
        sarcasm=tuple(sarcasm),
        capitals=_shouting(text),
        exclamations=text.count("!"),
        questions=text.count("?"),
        repeated_marks=len(_REPEATED_MARKS.findall(text)),
        sad_emoji=len(_SAD_EMOJI.findall(text)),
        happy_emoji=len(_HAPPY_EMOJI.findall(text)),
    )
