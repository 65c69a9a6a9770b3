"""Train the urgency model and write skills/data/urgency_model.npz.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_urgency.py ../shared/data/sentiment [--out FILE]
        [--heldout-csv DIR] [--service-weight 3] [--seed 14]

Per language (en, it): the shared corpus without retweets and near-duplicates, minus its
fixed held-out 20% (skills/corpus.py), plus the project's customer-service messages in
tests/data/emotion_eval.csv (each counted ``--service-weight`` times; emotion_holdout.csv
is never trained on). Features are skills/features.py's, binary TF-IDF, word and character
blocks each L2-normalized. A multinomial logistic regression; its C is picked by 5-fold
cross-validation on the training part only (ROC AUC of negative-vs-rest), then
out-of-fold predictions fit the calibration (Platt scaling of P(negative)) and the
threshold of the negative label (best macro-F1, moment-of-truth floors included). The
held-out split is never looked at here (only its size and fingerprint are recorded, so
tests/test_emotion_heldout.py can check it is the split left out); bench/emotion_eval.py
--corpus scores it. URGENCY_C_GRID="0.5,1" (the default) sets the grid of C.

Deterministic: the split hangs on the texts' hashes, the folds on ``--seed``, and lbfgs
has no randomness. With --heldout-csv, the held-out splits are also written as CSV files
(text, language, label) for bench/emotion_eval.py; they stay outside the repository (the
corpora's terms allow shipping weights, not texts).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skills.corpus import CORPORA, Example, digest, load_split  # noqa: E402
from skills.cues import find_cues  # noqa: E402
from skills.features import HashtagSplitter, featurize, tokenize  # noqa: E402
from skills.urgency_model import CLASSES, MODEL_FILE  # noqa: E402

SERVICE_SET = ROOT / "tests" / "data" / "emotion_eval.csv"
C_GRID = tuple(float(c) for c in os.environ.get("URGENCY_C_GRID", "0.5,1").split(","))
FOLDS = 5
SINGLE_LETTER_WORDS = {"en": {"i", "a"}, "it": {"a", "e", "o", "i"}}
MIN_WORD_DF = 2
MIN_CHAR_DF = 3


def segment_counts(examples: list[Example], language: str) -> Counter[str]:
    """Word frequencies for splitting hashtags, from the training texts' plain words."""
    plain = HashtagSplitter({})
    counts: Counter[str] = Counter()
    for example in examples:
        tokens, _ = tokenize(example.text, language, plain)
        counts.update(t for t in tokens if t.isalpha())
    return Counter(
        {
            w: n
            for w, n in counts.items()
            if n >= 3 and (len(w) > 1 or w in SINGLE_LETTER_WORDS[language])
        }
    )


def floors(text: str, language: str) -> float:
    return find_cues(text, language).floor()[0]


class Block:
    """One TF-IDF block (binary, L2-normalized) over precomputed feature lists."""

    def __init__(self, min_df: int) -> None:
        self.vectorizer = TfidfVectorizer(
            analyzer=lambda features: features, binary=True, min_df=min_df, norm="l2"
        )

    def fit(self, rows: list[list[str]]) -> sparse.csr_matrix:
        return self.vectorizer.fit_transform(rows)

    def transform(self, rows: list[list[str]]) -> sparse.csr_matrix:
        return self.vectorizer.transform(rows)


def matrices(
    train: list[tuple[list[str], list[str]]], others: list[tuple[list[str], list[str]]]
) -> tuple[Block, Block, sparse.csr_matrix, sparse.csr_matrix]:
    words, chars = Block(MIN_WORD_DF), Block(MIN_CHAR_DF)
    x_train = sparse.hstack(
        [words.fit([w for w, _ in train]), chars.fit([c for _, c in train])]
    ).tocsr()
    if not others:
        return words, chars, x_train, sparse.csr_matrix((0, x_train.shape[1]))
    x_other = sparse.hstack(
        [words.transform([w for w, _ in others]), chars.transform([c for _, c in others])]
    ).tocsr()
    return words, chars, x_train, x_other


def fit(x: sparse.csr_matrix, y: np.ndarray, weights: np.ndarray, c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=3000, tol=1e-5)
    model.fit(x, y, sample_weight=weights)
    return model


def out_of_fold(
    features: list[tuple[list[str], list[str]]],
    y: np.ndarray,
    weights: np.ndarray,
    c: float,
    seed: int,
) -> np.ndarray:
    probabilities = np.zeros((len(y), len(CLASSES)))
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(y)), y):
        _, _, x_train, x_test = matrices([features[i] for i in train], [features[i] for i in test])
        probabilities[test] = fit(x_train, y[train], weights[train], c).predict_proba(x_test)
    return probabilities


def platt(p_negative: np.ndarray, negative: np.ndarray) -> tuple[float, float]:
    clipped = np.clip(p_negative, 1e-9, 1 - 1e-9)
    logit = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    model = LogisticRegression(C=1e6).fit(logit, negative)
    return float(model.coef_[0][0]), float(model.intercept_[0])


def calibrate(p_negative: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    clipped = np.clip(p_negative, 1e-9, 1 - 1e-9)
    return 1 / (1 + np.exp(-(slope * np.log(clipped / (1 - clipped)) + intercept)))


def labels(urgency: np.ndarray, probabilities: np.ndarray, threshold: float) -> np.ndarray:
    rest = np.where(probabilities[:, 2] > probabilities[:, 1], 2, 1)
    return np.where(urgency >= threshold, 0, rest)


def train_language(
    directory: Path, language: str, service_weight: float, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    started = time.perf_counter()
    training, held_out = load_split(directory, language)
    with SERVICE_SET.open(encoding="utf-8", newline="") as handle:
        service = [
            Example(f"service-{i}", row["text"], language, row["label"])
            for i, row in enumerate(csv.DictReader(handle))
            if row["language"] == language
        ]
    examples = training + (service if service_weight > 0 else [])
    counts = segment_counts(training, language)
    splitter = HashtagSplitter(counts)

    def features_of(items: list[Example]) -> list[tuple[list[str], list[str]]]:
        out = []
        for e in items:
            f = featurize(e.text, language, find_cues(e.text, language), splitter)
            out.append((f.words, f.chars))
        return out

    features = features_of(examples)
    y = np.array([CLASSES.index(e.label) for e in examples])
    weights = np.array([service_weight if e.key.startswith("service-") else 1.0 for e in examples])
    tweets = np.array([not e.key.startswith("service-") for e in examples])
    best_c, best_auc = C_GRID[0], -1.0
    for c in C_GRID:
        oof = out_of_fold(features, y, weights, c, seed)
        auc = roc_auc_score(y[tweets] == 0, oof[tweets, 0])
        print(f"  {language} C={c:<4} out-of-fold ROC AUC {auc:.4f}", flush=True)
        if auc > best_auc:
            best_c, best_auc, best_oof = c, auc, oof
    slope, intercept = platt(best_oof[tweets, 0], y[tweets] == 0)
    floor = np.array([floors(e.text, language) for e in examples])
    urgency = np.maximum(calibrate(best_oof[:, 0], slope, intercept), floor)
    threshold, best_f1 = 0.5, -1.0
    for candidate in np.arange(0.20, 0.71, 0.01):
        f1 = f1_score(y[tweets], labels(urgency, best_oof, candidate)[tweets], average="macro")
        if f1 > best_f1:
            threshold, best_f1 = float(round(candidate, 2)), float(f1)
    words, chars, x_train, _ = matrices(features, [])
    model = fit(x_train, y, weights, best_c)
    n_words = len(words.vectorizer.vocabulary_)
    coef = model.coef_.T  # (features, classes)
    word_idf = words.vectorizer.idf_
    char_idf = chars.vectorizer.idf_
    arrays = {
        f"{language}_words": np.array(words.vectorizer.get_feature_names_out(), dtype=str),
        f"{language}_chars": np.array(chars.vectorizer.get_feature_names_out(), dtype=str),
        f"{language}_word_weights": np.column_stack(
            [word_idf**2, word_idf[:, None] * coef[:n_words]]
        ).astype(np.float32),
        f"{language}_char_weights": np.column_stack(
            [char_idf**2, char_idf[:, None] * coef[n_words:]]
        ).astype(np.float32),
        f"{language}_bias": model.intercept_.astype(np.float32),
        f"{language}_segment_words": np.array(sorted(counts), dtype=str),
        f"{language}_segment_counts": np.array([counts[w] for w in sorted(counts)], np.int32),
    }
    info = {
        "C": best_c,
        "out_of_fold_auc": round(best_auc, 4),
        "out_of_fold_macro_f1": round(best_f1, 4),
        "calibration": [slope, intercept],
        "threshold": threshold,
        "neutral_urgency": float(np.median(urgency[tweets & (y == 1)])),
        "training_tweets": len(training),
        "held_out_tweets": len(held_out),
        "held_out_digest": digest(held_out),
        "service_messages": len(service) if service_weight > 0 else 0,
        "service_weight": service_weight,
        "word_features": n_words,
        "char_features": len(chars.vectorizer.vocabulary_),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(f"  {language}: {json.dumps(info)}", flush=True)
    return arrays, info


def write_heldout(directory: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for language in CORPORA:
        with (out / f"heldout_{language}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "language", "label"])
            for example in load_split(directory, language)[1]:
                writer.writerow([example.text, language, example.label])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path, help="the shared sentiment corpus directory")
    parser.add_argument("--out", type=Path, default=ROOT / "skills" / "data" / MODEL_FILE)
    parser.add_argument("--heldout-csv", type=Path)
    parser.add_argument("--service-weight", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--languages", default="en,it")
    args = parser.parse_args()
    languages = tuple(args.languages.split(","))
    arrays: dict[str, np.ndarray] = {}
    infos: dict[str, dict[str, object]] = {}
    for language in languages:
        language_arrays, infos[language] = train_language(
            args.corpus, language, args.service_weight, args.seed
        )
        arrays.update(language_arrays)
    meta = {
        "languages": list(languages),
        "classes": list(CLASSES),
        "seed": args.seed,
        "corpora": CORPORA,
        "calibration": {lang: infos[lang]["calibration"] for lang in languages},
        "threshold": {lang: infos[lang]["threshold"] for lang in languages},
        "neutral_urgency": round(
            float(np.mean([infos[lang]["neutral_urgency"] for lang in languages])), 3
        ),
        "training": infos,
    }
    np.savez_compressed(args.out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)")
    if args.heldout_csv:
        write_heldout(args.corpus, args.heldout_csv)


if __name__ == "__main__":
    main()
