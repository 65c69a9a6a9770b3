"""Offline language detection (lingua, models shipped in the package; nothing downloaded).

Restricted to the languages the config lists, so a short "ok grazie" is not mistaken for
a language nobody in the center speaks. A gateway's own language tag always wins.
"""

from __future__ import annotations

from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

MIN_CONFIDENCE = 0.4
"""Below this the detector's best guess is not trusted and the language stays unknown."""


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> object:
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes
    ]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return builder.with_preloaded_language_models().build()


def supported(code: str) -> bool:
    return hasattr(IsoCode639_1, code.upper())


class LanguageDetector:
    def __init__(self, languages: tuple[str, ...], min_confidence: float = MIN_CONFIDENCE) -> None:
        usable = tuple(sorted({code for code in languages if supported(code)}))
        self.languages = usable
        self.min_confidence = min_confidence
        self._lingua = _detector(usable) if len(usable) >= 2 else None

    def detect(self, text: str) -> str | None:
        """ISO 639-1 code of the text's language, or None when unsure or nothing to go on."""
        if not text.strip():
            return None
        if self._lingua is None:
            return self.languages[0] if self.languages else None
        values = self._lingua.compute_language_confidence_values(text)  # type: ignore[attr-defined]
        if not values or values[0].value < self.min_confidence:
            return None
        return str(values[0].language.iso_code_639_1.name.lower())
