"""Classification metrics for the emotion detector's evaluation (no dependencies)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

LABELS = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class Metrics:
    count: int
    accuracy: float
    macro_f1: float
    recall: dict[str, float]
    precision: dict[str, float]
    confusion: dict[tuple[str, str], int]  # (true, predicted) -> count


def metrics(truth: list[str], predicted: list[str], labels: tuple[str, ...] = LABELS) -> Metrics:
    if len(truth) != len(predicted) or not truth:
        raise ValueError("need equally long, non-empty lists of labels")
    confusion = Counter(zip(truth, predicted, strict=True))
    recall, precision, f1 = {}, {}, []
    for label in labels:
        hit = confusion[(label, label)]
        actual = sum(n for (t, _), n in confusion.items() if t == label)
        guessed = sum(n for (_, p), n in confusion.items() if p == label)
        recall[label] = hit / actual if actual else 0.0
        precision[label] = hit / guessed if guessed else 0.0
        both = recall[label] + precision[label]
        f1.append(2 * recall[label] * precision[label] / both if both else 0.0)
    correct = sum(n for (t, p), n in confusion.items() if t == p)
    return Metrics(
        len(truth), correct / len(truth), sum(f1) / len(labels), recall, precision, dict(confusion)
    )
