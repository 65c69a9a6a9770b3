"""The shared sentiment corpora, cleaned and split the same way every time.

Used by the training script (scripts/train_urgency.py), the bench and the regression test,
never at run time. Two public corpora of tweets live in one directory (see its README):

    en_semeval2017_tweets.tsv    label, text            (SemEval-2017 Task 4A)
    it_sentipolc2016_train.tsv   label, ironic, text    (EVALITA 2016 SENTIPOLC)

Cleaning, before any split: retweets ("RT @...") are dropped, and so are near-duplicates:
two messages are the same when they are equal once lower-cased, accents, links, @mentions,
digits and punctuation are removed (the first one read is kept, and a text that appears
with different labels is dropped altogether). SENTIPOLC's ``mixed`` (both positive and
negative) counts as negative: a message that complains about something is a complaint.

Split: per corpus and per label, rows are ordered by a salted SHA-1 of their cleaned text
and the first 20% are held out. It depends on the texts alone (not on file order or a
random generator), so anyone with the corpora rebuilds exactly the same split.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from skills.text import fold

CORPORA = {"en": "en_semeval2017_tweets.tsv", "it": "it_sentipolc2016_train.tsv"}
LABEL_MAP = {"negative": "negative", "neutral": "neutral", "positive": "positive"}
LABEL_MAP_IT = {**LABEL_MAP, "mixed": "negative"}
HELD_OUT_SHARE = 0.2
SALT = "centralino-urgency-split-v1"

_RETWEET = re.compile(r"^\s*RT\b", re.IGNORECASE)
_LINK = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_NOT_LETTER = re.compile(r"[\W\d_]+")


@dataclass(frozen=True, slots=True)
class Example:
    key: str  # SHA-1 of the cleaned text: the example's id
    text: str
    language: str
    label: str  # negative | neutral | positive


def near_duplicate_key(text: str) -> str:
    cleaned = _NOT_LETTER.sub(" ", _MENTION.sub(" ", _LINK.sub(" ", fold(text))))
    return hashlib.sha1(" ".join(cleaned.split()).encode("utf-8")).hexdigest()


def read_corpus(directory: Path, language: str) -> list[Example]:
    """One corpus without retweets and near-duplicates, in file order."""
    labels = LABEL_MAP_IT if language == "it" else LABEL_MAP
    path = Path(directory) / CORPORA[language]
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    seen: dict[str, Example | None] = {}
    for row in rows:
        text, label = row["text"], labels.get(row["label"])
        if label is None or not text.strip() or _RETWEET.match(text):
            continue
        key = near_duplicate_key(text)
        if key in seen:
            first = seen[key]
            if first is not None and first.label != label:
                seen[key] = None  # contradicting labels: trust neither
            continue
        seen[key] = Example(key, text, language, label)
    return [example for example in seen.values() if example is not None]


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(training, held-out): 20% of each label held out, chosen by the texts' hashes."""
    training: list[Example] = []
    held_out: list[Example] = []
    for label in sorted({example.label for example in examples}):
        members = sorted(
            (e for e in examples if e.label == label),
            key=lambda e: hashlib.sha1(f"{SALT}:{e.key}".encode()).hexdigest(),
        )
        cut = round(len(members) * HELD_OUT_SHARE)
        held_out.extend(members[:cut])
        training.extend(members[cut:])
    order = {example.key: index for index, example in enumerate(examples)}
    training.sort(key=lambda e: order[e.key])
    held_out.sort(key=lambda e: order[e.key])
    return training, held_out


def load_split(directory: Path, language: str) -> tuple[list[Example], list[Example]]:
    return split(read_corpus(directory, language))


def held_out_rows(directory: Path) -> list[dict[str, str]]:
    """The held-out splits of every corpus as bench rows (text, language, label)."""
    return [
        {"text": e.text, "language": e.language, "label": e.label}
        for language in CORPORA
        for e in load_split(directory, language)[1]
    ]


def digest(examples: list[Example]) -> str:
    """One fingerprint of a set of examples (their ids, in any order)."""
    return hashlib.sha1("\n".join(sorted(e.key for e in examples)).encode()).hexdigest()
