"""Text helpers shared by triage: accent folding and keyword/phrase patterns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# the combining diacritical marks block, but U+034F (a joiner, not an accent)
_DIACRITICS = re.compile("[\u0300-\u034e\u0350-\u036f]")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _drop_combining(match: re.Match[str]) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def fold(text: str) -> str:
    """Lower-case and strip accents, so "più" matches "piu" and "Perché" matches "perche"."""
    lowered = text.lower()
    if lowered.isascii():  # nothing to strip (ASCII is its own NFKD form)
        return lowered
    stripped = _DIACRITICS.sub("", unicodedata.normalize("NFKD", lowered))
    if not stripped.isascii():  # other combining marks, rarer: the non-ASCII one by one
        stripped = _NON_ASCII.sub(_drop_combining, stripped)
    return stripped.replace("’", "'")


def phrase_pattern(entries: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any entry in folded text: whole words, "stem*" for any ending,
    any run of spaces between the words of a phrase. Longest entries are tried first."""
    parts = []
    for entry in sorted({fold(e).strip() for e in entries if e.strip()}, key=len, reverse=True):
        stem = entry.endswith("*")
        body = re.escape(entry.rstrip("*")).replace(r"\ ", r"\s+")
        parts.append(body + (r"[\w']*" if stem else r"(?![\w'])"))
    if not parts:
        return re.compile(r"(?!x)x")  # matches nothing
    # a match may follow an apostrophe: Italian elides ("l'avvocato", "dell'assistenza")
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + ")")
