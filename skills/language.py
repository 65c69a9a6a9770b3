"""Offline language detection (lingua, models shipped in the package; nothing downloaded).

Restricted to the languages the config lists, so a short "ok grazie" is not mistaken for
a language nobody in the center speaks. A gateway's own language tag always wins; a mere
hint (a web browser's locale) only breaks a tie or stands in when the text says nothing:
an Italian message typed in an en-US browser is Italian.
"""

from __future__ import annotations

from functools import lru_cache

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

MIN_CONFIDENCE = 0.4
"""Below this the detector's best guess is not trusted and the language stays unknown."""
TIE_MARGIN = 0.15
"""A hinted language this close to the best guess's confidence counts as a tie, and wins."""


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]) -> object:
    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes
    ]
    builder = LanguageDetectorBuilder.from_languages(*languages)
    return builder.with_preloaded_language_models().build()


def locale_language(locale: str | None, languages: tuple[str, ...]) -> str | None:
    """A locale like "it-IT" or "en_US" as one of ``languages``, or None."""
    if not locale:
        return None
    code = locale.replace("_", "-").split("-")[0].strip().lower()
    return code if code in languages else None


def supported(code: str) -> bool:
    return hasattr(IsoCode639_1, code.upper())


class LanguageDetector:
    def __init__(self, languages: tuple[str, ...], min_confidence: float = MIN_CONFIDENCE) -> None:
        usable = tuple(sorted({code for code in languages if supported(code)}))
        self.languages = usable
        self.min_confidence = min_confidence
        self._lingua = _detector(usable) if len(usable) >= 2 else None

    def detect(self, text: str, hint: str | None = None) -> str | None:
        """ISO 639-1 code of the text's language, or None when unsure or nothing to go on.

        ``hint`` (say, a browser's locale, "en-US" or "it") is taken when the text is too
        short or ambiguous to tell, or when its language is nearly as likely as the best."""
        return self.readings(text, hint)[1]

    def readings(self, text: str, hint: str | None = None) -> tuple[str | None, str | None]:
        """The text's language read without the hint and with it (``detect``'s answer),
        from one pass of the detector over the text."""
        hinted = locale_language(hint, self.languages)
        if not text.strip():
            return None, hinted
        if self._lingua is None:
            return (self.languages[0], self.languages[0]) if self.languages else (None, hinted)
        values = self._lingua.compute_language_confidence_values(text)  # type: ignore[attr-defined]
        if not values or values[0].value < self.min_confidence:
            return None, hinted
        best = str(values[0].language.iso_code_639_1.name.lower())
        if hinted is not None:
            confidence = {str(v.language.iso_code_639_1.name.lower()): v.value for v in values}
            if confidence.get(hinted, 0.0) >= values[0].value - TIE_MARGIN:
                return best, hinted
        return best, best
