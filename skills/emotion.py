"""Emotional urgency from text, Italian and English: offline, calibrated, explainable.

    P(negative)  the trained model (skills/urgency_model.py): word and character n-grams,
                 hashtags split, negation marked, ?/! runs and the lexicon's cues as
                 features; calibrated per language
    floors       a counted legal or churn threat, distress, a repeat complaint or anger
                 (skills/cues.py, ``category_floors`` in skills/data/lexicons.json) keeps
                 urgency at least at its floor, several together higher still: moments of
                 truth are never left to chance
    urgency      max(P(negative), floors)                                      in [0, 1]
    label        negative when urgency reaches the language's threshold (chosen on the
                 training data for the best macro-F1), else positive or neutral,
                 whichever the model finds likelier

Languages the model does not know (German, French, Spanish...) are not scored with Italian
or English words: they get the urgency of a typical neutral message and the signal
"language not modelled", unless a gateway sends its own sentiment. Every score lists its
signals: the lexicon's cues, the model's probability and the n-grams that weighed most.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skills.cues import find_cues
from skills.urgency_model import Prediction, language_model, model_info, modelled_languages

LANGUAGES = ("it", "en")


@dataclass(frozen=True, slots=True)
class EmotionScore:
    urgency: float
    label: str  # negative | neutral | positive
    negative: float  # calibrated P(negative) (text) or the provider's negative part
    positive: float
    signals: tuple[str, ...] = field(default=())
    source: str = "text"  # text | provider | none

    def as_dict(self) -> dict[str, object]:
        return {
            "urgency": round(self.urgency, 3),
            "label": self.label,
            "signals": list(self.signals),
            "source": self.source,
        }


NEUTRAL = EmotionScore(0.0, "neutral", 0.0, 0.0)


def neutral_urgency() -> float:
    """The urgency of a typical neutral message (the median over the training data)."""
    return float(model_info()["neutral_urgency"])


def not_modelled(language: str) -> EmotionScore:
    return EmotionScore(
        neutral_urgency(), "neutral", 0.0, 0.0, (f"language not modelled: {language}",), "none"
    )


def _score(text: str, language: str) -> EmotionScore:
    model = language_model(language)
    assert model is not None
    cues = find_cues(text, language)
    prediction: Prediction = model.predict(text, cues)
    floor, categories = cues.floor()
    urgency = max(prediction.negative, floor)
    _, p_neutral, p_positive = prediction.probabilities
    if urgency >= model.threshold:
        label = "negative"
    else:
        label = "positive" if p_positive > p_neutral else "neutral"
    signals = cues.signals()
    signals.append(f"model ({language}): P(negative) {prediction.negative:.2f}")
    if floor > prediction.negative:
        signals.append(f"floor for {', '.join(categories)}: {floor:.2f}")
    if label != "neutral":
        top = model.top_ngrams(prediction, label)
        if top:
            signals.append(f"n-grams toward {label}: " + ", ".join(top))
    return EmotionScore(urgency, label, prediction.negative, p_positive, tuple(signals))


def score_text(text: str, language: str | None = None) -> EmotionScore:
    """Score one message in ``language``; unknown (None): every modelled language is tried
    and the most urgent reading kept."""
    if not text.strip():
        return NEUTRAL
    if language is None:
        return max((_score(text, code) for code in modelled_languages()), key=_urgency)
    code = language.replace("_", "-").split("-")[0].strip().lower()  # "en-US" is English
    if code not in modelled_languages():
        return not_modelled(language)
    return _score(text, code)


def _urgency(score: EmotionScore) -> float:
    return score.urgency


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
