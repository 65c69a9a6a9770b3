"""What the urgency model reads of a message: word and character n-grams plus cues.

The same function turns a message into features for training (scripts/train_urgency.py)
and for scoring (skills/urgency_model.py), so the two can never disagree:

- links become ``httpurl``, @mentions ``atuser``; letters repeated three or more times are
  cut to two ("sooooo" → "soo"); text is lower-cased and accent-folded;
- hashtags are split into words: camelCase first, then the most likely words by their
  frequency in the training corpora (#worstcustomerserviceever → worst customer service
  ever); the whole tag stays a feature too;
- words after a negation ("non", "not", "never", "n't"…), up to three and within the
  clause, are marked ``_NEG`` ("not happy" gives ``happy_NEG``);
- runs of ? and ! are tokens of their own ("???" and "?!" say more than "?");
- word unigrams and bigrams; character 3- to 5-grams of each token padded with spaces
  (" soddisfatto " → " so", "sod", ... "to "), so a token's n-grams can be looked up
  once and remembered;
- the lexicon's cues (skills/cues.py) as tokens like ``<lex:legal>`` or ``<excl:3>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from skills.cues import Cues
from skills.lexicons import NEGATIONS
from skills.text import fold

CHAR_SIZES = (3, 4, 5)
NEGATION_SCOPE = 3
MAX_WORD = 20  # the longest word a hashtag is split into

_LINK = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[^\W\d_]+")
_ELONGATED = re.compile(r"(\w)\1{2,}")
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+|[!?]+|[^\w\s]")
_CLAUSE = frozenset('.,;:!?()[]"')


class HashtagSplitter:
    """Splits a run of letters into the likeliest words (unigram Viterbi)."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        total = sum(counts.values()) or 1
        self._cost = {word: math.log(total / count) for word, count in counts.items() if count}
        self._unknown = math.log(total) + 4.0  # per character, so known words win
        self.split = lru_cache(maxsize=4096)(self._split)

    def _split(self, tag: str) -> tuple[str, ...]:
        words: list[str] = []
        for chunk in _CAMEL.findall(tag):
            chunk = fold(chunk)
            words.extend(self._words(chunk) if chunk.isalpha() else (chunk,))
        return tuple(words)

    def _words(self, chunk: str) -> list[str]:
        if len(chunk) < 6 or chunk in self._cost:
            return [chunk]
        best: list[tuple[float, int]] = [(0.0, 0)] + [(math.inf, 0)] * len(chunk)
        for end in range(1, len(chunk) + 1):
            for start in range(max(0, end - MAX_WORD), end):
                piece = chunk[start:end]
                cost = self._cost.get(piece, self._unknown * len(piece))
                if best[start][0] + cost < best[end][0]:
                    best[end] = (best[start][0] + cost, start)
        words = []
        end = len(chunk)
        while end > 0:
            start = best[end][1]
            words.append(chunk[start:end])
            end = start
        return words[::-1]


@dataclass(frozen=True, slots=True)
class Features:
    words: list[str]  # word unigrams (negation-marked), bigrams, hashtags and cue tokens
    tokens: list[str]  # the normalized tokens, whose character n-grams are features

    @property
    def chars(self) -> list[str]:
        return [gram for token in self.tokens for gram in char_ngrams(token)]


def char_ngrams(token: str) -> tuple[str, ...]:
    padded = f" {token} "
    return tuple(padded[i : i + n] for n in CHAR_SIZES for i in range(len(padded) - n + 1))


def tokenize(text: str, language: str, splitter: HashtagSplitter) -> tuple[list[str], list[str]]:
    """(tokens, whole hashtags) of a message, normalized as the module describes."""
    text = _MENTION.sub(" atuser ", _LINK.sub(" httpurl ", text))
    hashtags: list[str] = []

    def split_tag(match: re.Match[str]) -> str:
        hashtags.append("#" + fold(match.group(1)))
        return " " + " ".join(splitter.split(match.group(1))) + " "

    text = _ELONGATED.sub(r"\1\1", fold(_HASHTAG.sub(split_tag, text)))
    tokens = _TOKEN.findall(text)
    if language == "it":  # elisions: "l'avvocato" → "l", "avvocato"
        tokens = [part for token in tokens for part in token.split("'") if part]
    return tokens, hashtags


def featurize(text: str, language: str, cues: Cues, splitter: HashtagSplitter) -> Features:
    tokens, hashtags = tokenize(text, language, splitter)
    negations = _negations(language)
    words: list[str] = []
    scope = 0
    for token in tokens:
        if token in negations or token.endswith("n't"):
            scope = NEGATION_SCOPE
            words.append(token)
        elif token[0] in _CLAUSE:
            scope = 0
            words.append(token)
        elif scope:
            scope -= 1
            words.append(token + "_NEG")
        else:
            words.append(token)
    words += [f"{a} {b}" for a, b in pairwise(tokens)]
    words += hashtags
    words += cues.feature_tokens()
    return Features(words, tokens)


@lru_cache(maxsize=4)
def _negations(language: str) -> frozenset[str]:
    return frozenset(NEGATIONS.get(language, ()))
