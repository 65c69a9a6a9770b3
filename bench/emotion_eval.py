"""Score the emotion detector on a labelled CSV (columns: text, language, label).

    python bench/emotion_eval.py [tests/data/emotion_eval.csv] [--detect-language]

Prints accuracy, macro-F1 and the negative class's recall, overall and per language, the
confusion matrix and the time per message. With --detect-language the language column is
ignored and the offline detector decides, as in production when a gateway sends none.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skills.emotion import score_text
from skills.evaluation import LABELS, metrics
from skills.language import LanguageDetector

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "emotion_eval.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--detect-language", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the misses")
    args = parser.parse_args()
    with args.csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    detector = LanguageDetector(("it", "en")) if args.detect_language else None
    predicted: list[str] = []
    for language in ("it", "en"):  # compile the lexicons before timing
        score_text("warm up", language)
    start = time.perf_counter()
    for row in rows:
        language = detector.detect(row["text"]) if detector else row["language"]
        predicted.append(score_text(row["text"], language).label)
    per_message = (time.perf_counter() - start) / len(rows) * 1e6
    print(
        f"{args.csv.name}: {len(rows)} messages"
        f"{' (language detected)' if detector else ''}; {per_message:.0f} µs per message"
    )
    groups = {"all": list(range(len(rows)))}
    for language in sorted({row["language"] for row in rows}):
        groups[language] = [i for i, row in enumerate(rows) if row["language"] == language]
    print(f"{'':>5} {'n':>4} {'accuracy':>9} {'macro-F1':>9} {'neg recall':>11}")
    for name, indexes in groups.items():
        result = metrics([rows[i]["label"] for i in indexes], [predicted[i] for i in indexes])
        print(
            f"{name:>5} {result.count:>4} {result.accuracy:>9.3f} {result.macro_f1:>9.3f} "
            f"{result.recall['negative']:>11.3f}"
        )
    overall = metrics([row["label"] for row in rows], predicted)
    print("\nconfusion (rows: true, columns: predicted)")
    print(f"{'':>10}" + "".join(f"{label:>10}" for label in LABELS))
    for true in LABELS:
        print(f"{true:>10}" + "".join(f"{overall.confusion.get((true, p), 0):>10}" for p in LABELS))
    if args.verbose:
        for row, guess in zip(rows, predicted, strict=True):
            if guess != row["label"]:
                print(f"  {row['label']:>8} -> {guess:<8} {row['text']}")


if __name__ == "__main__":
    main()
