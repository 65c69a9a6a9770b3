"""Customer-service emotion lexicons, Italian and English.

Written for contact-center messages, not general text: "deluso" and "disappointed" are
complaints here, "problema" is frustration, "rubata" is distress, "avvocato" is a legal
threat. Entries are accent-folded and lower-case; an entry ending in ``*`` is a stem
("arrabbiat*" matches arrabbiato, arrabbiata, arrabbiati). Multi-word entries are phrases.

Weights are the points one match adds to the negative score (the lexicon score in skills/cues.py).
Sarcasm entries ("grazie per niente", "thanks for nothing") are praise meaning the
opposite; they mask the praise words inside them. A category's floor is the least urgency
one counted match guarantees, whatever the model says (legal and churn threats, distress).
Positive entries also mask: the words inside "problema risolto", "thanks again" or
"thanks for your help" do not count as a complaint, a repeat or a call for help.

The word lists are data, not code: they live in ``skills/data/lexicons.json`` (shipped as
package data) and are read once, at import.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

LEXICON_FILE = "lexicons.json"


def _load() -> dict[str, Any]:
    text = resources.files("skills").joinpath("data", LEXICON_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _by_language(table: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    return {language: tuple(entries) for language, entries in table.items()}


_DATA = _load()

CATEGORY_WEIGHTS: dict[str, float] = {
    category: float(weight) for category, weight in _DATA["category_weights"].items()
}
NEGATIVE: dict[str, dict[str, tuple[str, ...]]] = {
    language: _by_language(categories) for language, categories in _DATA["negative"].items()
}
POSITIVE: dict[str, tuple[str, ...]] = _by_language(_DATA["positive"])
NEGATIONS: dict[str, tuple[str, ...]] = _by_language(_DATA["negations"])
INTENSIFIERS: dict[str, tuple[str, ...]] = _by_language(_DATA["intensifiers"])
SARCASM: dict[str, tuple[str, ...]] = _by_language(_DATA["sarcasm"])
CATEGORY_FLOORS: dict[str, float] = {
    category: float(floor) for category, floor in _DATA["category_floors"].items()
}
NEGATIVE_EMOJI = frozenset(_DATA["negative_emoji"])
POSITIVE_EMOJI = frozenset(_DATA["positive_emoji"])
