"""The trained urgency model: P(negative / distressed) of a message, per language.

A multinomial logistic regression over binary TF-IDF word and character n-grams
(skills/features.py), trained by scripts/train_urgency.py on public tweets (SemEval-2017,
SENTIPOLC 2016) and the project's own customer-service messages. The weights ship as
package data (``skills/data/urgency_model.npz``) and are read once, on first use; scoring
is a few dictionary look-ups and one small numpy sum, well under a millisecond.

Calibration: the model's P(negative) is passed through a per-language Platt scaling fitted
on out-of-fold predictions, so 0.7 means "negative about 70% of the time" in Italian as in
English (on text like the training data).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from skills.cues import Cues
from skills.features import HashtagSplitter, char_ngrams, featurize

MODEL_FILE = "urgency_model.npz"
CLASSES = ("negative", "neutral", "positive")
TOP_NGRAMS = 3
TOKEN_CACHE = 20_000  # tokens whose character n-gram ids are remembered (a few MB)
Arrays = dict[str, npt.NDArray[Any]]


@dataclass(frozen=True, slots=True)
class Prediction:
    probabilities: tuple[float, float, float]  # negative, neutral, positive (uncalibrated)
    negative: float  # calibrated P(negative)
    word_ids: tuple[int, ...]  # the word features present, for explanations


class LanguageModel:
    def __init__(self, arrays: Arrays, language: str, meta: dict[str, Any]) -> None:
        prefix = f"{language}_"
        self.language = language
        self.names: list[str] = arrays[prefix + "words"].tolist()
        self.words = {w: i for i, w in enumerate(self.names)}
        offset = len(self.names)  # character n-grams follow the words in one table
        self.chars = {c: offset + i for i, c in enumerate(arrays[prefix + "chars"].tolist())}
        # (words + chars, 4): idf², idf·w_negative, idf·w_neutral, idf·w_positive
        self.weights: npt.NDArray[np.float64] = np.vstack(
            [arrays[prefix + "word_weights"], arrays[prefix + "char_weights"]]
        ).astype(np.float64)
        negative, neutral, positive = arrays[prefix + "bias"].astype(np.float64).tolist()
        self.bias = (negative, neutral, positive)
        slope, intercept = meta["calibration"][language]
        self.slope, self.intercept = float(slope), float(intercept)
        self.threshold = float(meta["threshold"][language])
        self._token_chars: dict[str, tuple[int, ...]] = {}
        self.splitter = HashtagSplitter(
            dict(
                zip(
                    arrays[prefix + "segment_words"].tolist(),
                    arrays[prefix + "segment_counts"].tolist(),
                    strict=True,
                )
            )
        )

    def predict(self, text: str, cues: Cues) -> Prediction:
        features = featurize(text, self.language, cues, self.splitter)
        words: set[int | None] = set(map(self.words.get, features.words))
        words.discard(None)
        word_ids = sorted(cast(set[int], words))
        negative, neutral, positive = self.bias
        for ids in (word_ids, self._char_ids(features.tokens)):
            if ids:  # numpy sums the rows; three numbers are quicker in plain floats
                index = np.fromiter(ids, dtype=np.intp, count=len(ids))
                norm, *weighed = self.weights.take(index, axis=0).sum(axis=0).tolist()
                scale = math.sqrt(norm)
                negative += weighed[0] / scale
                neutral += weighed[1] / scale
                positive += weighed[2] / scale
        top = max(negative, neutral, positive)
        exp = (math.exp(negative - top), math.exp(neutral - top), math.exp(positive - top))
        total = exp[0] + exp[1] + exp[2]
        probabilities = (exp[0] / total, exp[1] / total, exp[2] / total)
        p_negative = min(max(probabilities[0], 1e-9), 1 - 1e-9)
        z = self.slope * math.log(p_negative / (1 - p_negative)) + self.intercept
        return Prediction(probabilities, 1.0 / (1.0 + math.exp(-z)), tuple(word_ids))

    def _char_ids(self, tokens: list[str]) -> set[int]:
        """The character n-gram features of the tokens, each token's looked up once.

        Not sorted: a set of ints built by the same steps iterates in the same order in
        every process (ints hash to themselves), so the same text sums its weights in the
        same order, to the same last bit."""
        cache = self._token_chars
        found: list[tuple[int, ...]] = []
        for token in tokens:
            ids = cache.get(token)
            if ids is None:
                if len(cache) >= TOKEN_CACHE:
                    cache.clear()
                known = set(map(self.chars.get, char_ngrams(token)))
                known.discard(None)
                ids = cache[token] = tuple(cast(set[int], known))
            found.append(ids)
        return set().union(*found)

    def top_ngrams(self, prediction: Prediction, toward: str) -> tuple[str, ...]:
        """The plain word n-grams (not cue tokens) of a message that pushed it most toward
        negative (or positive) against the other classes: the explanation an agent reads."""
        lean = self._lean(toward)
        scored = [(value, -i) for i in prediction.word_ids if (value := lean[i]) is not None]
        top = sorted(scored, reverse=True)[:TOP_NGRAMS]  # the first word id of equals
        return tuple(self.names[-negated] for value, negated in top if value > 0)

    @cache  # noqa: B019 - two lists per language model, alive for the whole process
    def _lean(self, toward: str) -> list[float | None]:
        """Per word feature, idf·(w_toward − mean of the other classes' w); None for the
        features an agent cannot read."""
        column = CLASSES.index(toward) + 1
        weights = self.weights[: len(self.names)]
        lean = weights[:, column] - (weights[:, 1:].sum(axis=1) - weights[:, column]) / 2
        return [
            value if _readable(name) else None
            for name, value in zip(self.names, lean.tolist(), strict=True)
        ]


def _readable(name: str) -> bool:
    """A word n-gram an agent can read: not a cue token, not punctuation alone."""
    return not name.startswith("<") and any(ch.isalnum() for ch in name)


@cache
def _bundle() -> tuple[dict[str, Any], dict[str, LanguageModel]]:
    with resources.files("skills").joinpath("data", MODEL_FILE).open("rb") as handle:
        arrays = dict(np.load(handle, allow_pickle=False))
    meta: dict[str, Any] = json.loads(str(arrays.pop("meta")))
    models = {language: LanguageModel(arrays, language, meta) for language in meta["languages"]}
    return meta, models


def modelled_languages() -> tuple[str, ...]:
    return tuple(_bundle()[1])


def model_info() -> dict[str, Any]:
    return _bundle()[0]


def language_model(language: str) -> LanguageModel | None:
    return _bundle()[1].get(language)
