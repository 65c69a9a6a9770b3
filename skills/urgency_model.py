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
from skills.features import HashtagSplitter, featurize

MODEL_FILE = "urgency_model.npz"
CLASSES = ("negative", "neutral", "positive")
TOP_NGRAMS = 3
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
        self.bias: npt.NDArray[np.float64] = arrays[prefix + "bias"].astype(np.float64)
        slope, intercept = meta["calibration"][language]
        self.slope, self.intercept = float(slope), float(intercept)
        self.threshold = float(meta["threshold"][language])
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
        chars: set[int | None] = set(map(self.chars.get, features.chars))
        chars.discard(None)
        word_ids = sorted(cast(set[int], words))
        logits = self.bias.copy()
        for ids in (word_ids, chars):
            if ids:
                index = np.fromiter(ids, dtype=np.intp, count=len(ids))
                sums = self.weights.take(index, axis=0).sum(axis=0)
                logits += sums[1:] / math.sqrt(sums[0])
        exp = np.exp(logits - logits.max())
        probabilities = exp / exp.sum()
        p_negative = float(min(max(probabilities[0], 1e-9), 1 - 1e-9))
        z = self.slope * math.log(p_negative / (1 - p_negative)) + self.intercept
        return Prediction(
            (float(probabilities[0]), float(probabilities[1]), float(probabilities[2])),
            1.0 / (1.0 + math.exp(-z)),
            tuple(word_ids),
        )

    def top_ngrams(self, prediction: Prediction, toward: str) -> tuple[str, ...]:
        """The plain word n-grams (not cue tokens) of a message that pushed it most toward
        negative (or positive) against the other classes: the explanation an agent reads."""
        column = CLASSES.index(toward) + 1
        ids = [i for i in prediction.word_ids if _readable(self.names[i])]
        if not ids:
            return ()
        rows = self.weights[ids]
        lean = rows[:, column] - (rows[:, 1:].sum(axis=1) - rows[:, column]) / 2
        order = np.argsort(-lean, kind="stable")[:TOP_NGRAMS]
        return tuple(self.names[ids[i]] for i in order.tolist() if lean[i] > 0)


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
