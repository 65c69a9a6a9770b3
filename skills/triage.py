"""Triage: what a contact needs and how urgent it is, from its text and the gateway's hints.

- language: the gateway's tag, else detected (offline) from the text among the configured
  languages; a ``language_hint`` (the web chat's browser locale) only breaks a tie or
  stands in when the text cannot tell (source "hint");
- emotion: a provider's sentiment/urgency score if the gateway sends one, else the text
  model (skills/emotion.py); a language it does not model gets a neutral urgency;
- intent: the gateway's, else keywords from config.yaml; a moment of truth sets an urgency
  floor and may require extra skills (e.g. empathy).

Triage runs on the event loop that takes every other contact, so what it reads is bounded:
emotion and intent keywords from a message's first 2,000 and last 500 characters (where a
long letter opens, its subject first, and where it closes, often with its threat), language
from its first 500. A 20,000-character email costs about what a 2,500 one does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from skills.emotion import EmotionScore, combine, from_provider, score_text
from skills.intents import IntentMatcher, IntentSpec
from skills.language import LanguageDetector, locale_language
from skills.urgency_model import modelled_languages

READ_HEAD = 2000  # characters of a long message's beginning read for its emotion
READ_TAIL = 500  # and of its end
DETECT_CHARS = 500  # characters its language is read from (plenty for the detector)


@dataclass(frozen=True, slots=True)
class TriageResult:
    language: str | None
    language_source: str  # gateway | detected | hint | unknown
    emotion: EmotionScore
    intent: str | None
    intent_source: str  # gateway | keywords | none
    intent_phrase: str | None = None
    moment_of_truth: bool = False
    intent_urgency: float = 0.0
    extra_skills: dict[str, int] = field(default_factory=dict)

    @property
    def urgency(self) -> float:
        return max(self.emotion.urgency, self.intent_urgency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_source": self.language_source,
            "emotion": self.emotion.as_dict(),
            "intent": self.intent,
            "intent_source": self.intent_source,
            "intent_phrase": self.intent_phrase,
            "moment_of_truth": self.moment_of_truth,
            "urgency": round(self.urgency, 3),
            "extra_skills": self.extra_skills,
        }

    def rescored(self, emotions: list[EmotionScore]) -> TriageResult:
        """The same triage with the emotion of every message so far."""
        return TriageResult(
            self.language,
            self.language_source,
            combine(emotions),
            self.intent,
            self.intent_source,
            self.intent_phrase,
            self.moment_of_truth,
            self.intent_urgency,
            self.extra_skills,
        )


class TriageSettings(Protocol):
    @property
    def detect_language(self) -> bool: ...


class TriageConfig(Protocol):
    """What triage reads of the routing configuration (router.rules.model.RoutingConfig)."""

    @property
    def languages(self) -> tuple[str, ...]: ...

    @property
    def triage(self) -> TriageSettings: ...

    @property
    def intents(self) -> Mapping[str, IntentSpec]: ...


class Triager:
    def __init__(self, config: TriageConfig) -> None:
        self.config = config
        self.detector = (
            LanguageDetector(config.languages) if config.triage.detect_language else None
        )
        self.intents = IntentMatcher(config.intents)
        modelled_languages()  # load the urgency model now, not on the first contact

    def _language(self, content: str, hint: str | None) -> tuple[str | None, str]:
        hinted = locale_language(hint, self.config.languages)
        if self.detector is None:
            return (hinted, "hint") if hinted else (None, "unknown")
        detected, chosen = self.detector.readings(opening(content), hint=hinted)
        if hinted is None:
            return (detected, "detected") if detected else (None, "unknown")
        if chosen is None:
            return None, "unknown"
        return chosen, "detected" if chosen == detected else "hint"

    def emotion(
        self,
        text: str,
        language: str | None,
        *,
        sentiment: float | None = None,
        urgency: float | None = None,
    ) -> EmotionScore:
        """The emotion of one message; without a language (a call's transcript, say) the
        language is detected from the text."""
        provided = provided_emotion(sentiment, urgency)
        if provided is not None:
            return provided
        if language is None and self.detector is not None:
            language = self.detector.detect(opening(text))
        return scored(text, readable_part(text), language)

    def triage(
        self,
        *,
        text: str,
        subject: str = "",
        language: str | None = None,
        language_hint: str | None = None,
        intent: str | None = None,
        sentiment: float | None = None,
        urgency: float | None = None,
    ) -> TriageResult:
        """``language`` is a gateway's own tag and is trusted; ``language_hint`` (a browser
        locale such as "en-US") is not: the text decides, the hint breaks ties."""
        content = f"{subject}\n{text}" if subject else text
        language_source = "gateway" if language else "unknown"
        if language is None:
            language, language_source = self._language(content, language_hint)
        read = readable_part(content)  # for the emotion and the intent
        emotion = provided_emotion(sentiment, urgency)
        if emotion is None:
            emotion = scored(content, read, language)
        spec: IntentSpec | None = None
        phrase = None
        source = "none"
        if intent:
            source = "gateway"
            spec = self.config.intents.get(intent)
        else:
            found = self.intents.match(read, language)
            if found is not None:
                intent, phrase, spec, source = found.name, found.phrase, found.spec, "keywords"
        return TriageResult(
            language=language,
            language_source=language_source,
            emotion=emotion,
            intent=intent or None,
            intent_source=source,
            intent_phrase=phrase,
            moment_of_truth=bool(spec and spec.moment_of_truth),
            intent_urgency=spec.urgency if spec else 0.0,
            extra_skills=dict(spec.skills) if spec else {},
        )


def provided_emotion(sentiment: float | None, urgency: float | None) -> EmotionScore | None:
    """The emotion a gateway's provider gave (its urgency, else its sentiment), if any."""
    if urgency is not None:
        return EmotionScore(
            urgency,
            "negative" if urgency >= 0.25 else "neutral",
            urgency,
            0.0,
            (f"provider urgency {urgency:.2f}",),
            "provider",
        )
    return from_provider(sentiment) if sentiment is not None else None


def scored(text: str, read: str, language: str | None) -> EmotionScore:
    """The emotion of ``text`` from ``read``, its readable part; the signals say when that
    left something out."""
    score = score_text(read, language)
    if read is text:
        return score
    shown = f"read the first {READ_HEAD:,} and last {READ_TAIL:,} of {len(text):,} characters"
    return replace(score, signals=(*score.signals, shown))


def readable_part(text: str) -> str:
    """What triage reads of a message for its emotion and intent: all of it up to
    READ_HEAD + READ_TAIL characters (white space at its ends not counted), else its
    beginning and its end without the words the cuts split, with a line holding a full
    stop between them: a clause break that no phrase of the lexicon or the intents can
    span (their words are separated by white space only)."""
    words = text.strip() if len(text) > READ_HEAD + READ_TAIL else text
    if len(words) <= READ_HEAD + READ_TAIL:
        return text  # all of it (the same object: nothing was left out)
    head, tail = words[:READ_HEAD], words[-READ_TAIL:]
    if not words[READ_HEAD].isspace():  # the cut split a word: its piece is not a word
        head = head.rsplit(None, 1)[0]  # (a head without white space is kept whole)
    if not words[-READ_TAIL - 1].isspace():
        tail = tail.split(None, 1)[-1]
    return f"{head}\n.\n{tail}"


def opening(text: str) -> str:
    """What the detector reads of a message for its language: its first DETECT_CHARS
    characters, white space before them not counted."""
    return text.lstrip()[:DETECT_CHARS]
