"""Score the emotion detector on a labelled CSV (columns: text, language, label).

    python bench/emotion_eval.py [tests/data/emotion_eval.csv] [--detect-language]
    python bench/emotion_eval.py --corpus ../shared/data/sentiment   # the held-out splits

Prints accuracy, macro-F1 and the negative class's recall, overall and per language, the
confusion matrix and the time per message; then, per language, the negative class's
precision, the ROC AUC of urgency for negative-vs-rest, the best negative recall urgency
reaches at a precision of at least 0.65 (any threshold), the calibration error,
milliseconds per message (each message timed --repeat times, the fastest kept: the CPU
cost on a busy machine; mean, 99th percentile, and messages of 200–300 characters) and
the reliability table of urgency (is a message scored 0.7 negative 70% of the time?). With
--detect-language the language column is ignored and the offline detector decides, as in
production when a gateway sends none. With --corpus the held-out 20% of the shared
sentiment corpora (skills/corpus.py rebuilds it) is scored instead of a CSV.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skills.emotion import score_text
from skills.evaluation import (
    LABELS,
    expected_calibration_error,
    metrics,
    recall_at_precision,
    reliability,
    roc_auc,
)
from skills.language import LanguageDetector

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "emotion_eval.csv"


def load_rows(args: argparse.Namespace) -> tuple[str, list[dict[str, str]]]:
    if args.corpus is not None:
        from skills.corpus import held_out_rows

        return "held-out splits", held_out_rows(args.corpus)
    with args.csv.open(encoding="utf-8", newline="") as handle:
        return args.csv.name, list(csv.DictReader(handle))


def time_long_messages(rows: list[dict[str, str]], repeat: int) -> list[float]:
    """Milliseconds for messages of exactly 300 characters: the set's texts, one after
    the other, cut into 300-character pieces (at most 200 of them)."""
    pieces: list[tuple[str, str]] = []
    text, language = "", ""
    for row in rows:
        text, language = (text + " " + row["text"]).strip(), row["language"]
        while len(text) >= 300 and len(pieces) < 200:
            pieces.append((text[:300], language))
            text = text[300:].strip()
    result = []
    for piece, language in pieces or [(("x " * 150)[:300], "en")]:
        fastest = float("inf")
        for _ in range(max(1, repeat)):
            start = time.perf_counter()
            score_text(piece, language)
            fastest = min(fastest, time.perf_counter() - start)
        result.append(fastest * 1e3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--corpus", type=Path, help="the shared sentiment corpus directory")
    parser.add_argument("--detect-language", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="time each message this often, keep the fastest"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = parser.parse_args()
    name, rows = load_rows(args)
    detector = LanguageDetector(("it", "en")) if args.detect_language else None
    predicted: list[str] = []
    urgency: list[float] = []
    elapsed: list[float] = []
    for language in ("it", "en"):  # load and compile before timing
        score_text("warm up", language)
    for row in rows:
        fastest = float("inf")
        for _ in range(max(1, args.repeat)):  # the fastest run: CPU cost, not a busy machine
            start = time.perf_counter()
            language = detector.detect(row["text"]) if detector else row["language"]
            score = score_text(row["text"], language)
            fastest = min(fastest, time.perf_counter() - start)
        elapsed.append(fastest)
        predicted.append(score.label)
        urgency.append(score.urgency)
    per_message = sum(elapsed) / len(rows) * 1e6
    print(
        f"{name}: {len(rows)} messages"
        f"{' (language detected)' if detector else ''}; {per_message:.0f} µs per message"
    )
    groups = {"all": list(range(len(rows)))}
    for language in sorted({row["language"] for row in rows}):
        groups[language] = [i for i, row in enumerate(rows) if row["language"] == language]
    print(f"{'':>5} {'n':>4} {'accuracy':>9} {'macro-F1':>9} {'neg recall':>11}")
    for group, indexes in groups.items():
        result = metrics([rows[i]["label"] for i in indexes], [predicted[i] for i in indexes])
        print(
            f"{group:>5} {result.count:>4} {result.accuracy:>9.3f} {result.macro_f1:>9.3f} "
            f"{result.recall['negative']:>11.3f}"
        )
    overall = metrics([row["label"] for row in rows], predicted)
    print("\nconfusion (rows: true, columns: predicted)")
    print(f"{'':>10}" + "".join(f"{label:>10}" for label in LABELS))
    for true in LABELS:
        print(f"{true:>10}" + "".join(f"{overall.confusion.get((true, p), 0):>10}" for p in LABELS))
    print(
        f"\n{'':>5} {'n':>5} {'neg recall':>11} {'neg precision':>14} {'ROC AUC':>8} "
        f"{'recall@P≥.65':>13} {'ECE':>6} {'ms/msg':>7} {'p99 ms':>7} {'ms at 300ch':>12}"
    )
    for group, indexes in groups.items():
        result = metrics([rows[i]["label"] for i in indexes], [predicted[i] for i in indexes])
        negative = [rows[i]["label"] == "negative" for i in indexes]
        scores = [urgency[i] for i in indexes]
        both = 0 < sum(negative) < len(negative)
        auc = roc_auc(scores, negative) if both else float("nan")
        ece = expected_calibration_error(reliability(scores, negative))
        times = sorted(elapsed[i] * 1e3 for i in indexes)
        long = time_long_messages([rows[i] for i in indexes], args.repeat)
        print(
            f"{group:>5} {result.count:>5} {result.recall['negative']:>11.3f} "
            f"{result.precision['negative']:>14.3f} {auc:>8.3f} "
            f"{recall_at_precision(scores, negative, 0.65):>13.3f} {ece:>6.3f} "
            f"{sum(times) / len(times):>7.3f} {times[int(0.99 * (len(times) - 1))]:>7.3f} "
            f"{sum(long) / len(long):>12.3f}"
        )
    for group, indexes in list(groups.items())[1:]:
        negative = [rows[i]["label"] == "negative" for i in indexes]
        table = reliability([urgency[i] for i in indexes], negative)
        print(f"\nreliability of urgency, {group} (observed = share truly negative)")
        print(f"{'bin':>11} {'n':>5} {'mean urgency':>13} {'observed':>9}")
        for row in table:
            print(
                f"{row.low:>5.1f}–{row.high:<5.1f} {row.count:>5} "
                f"{row.mean_predicted:>13.3f} {row.observed:>9.3f}"
            )
    if args.verbose:
        for row, guess in zip(rows, predicted, strict=True):
            if guess != row["label"]:
                print(f"  {row['label']:>8} -> {guess:<8} {row['text']}")


if __name__ == "__main__":
    main()
