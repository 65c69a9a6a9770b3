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


def roc_auc(scores: list[float], positives: list[bool]) -> float:
    """Area under the ROC curve: the chance that a random positive outranks a random
    negative (ties count half). Rank-based, O(n log n)."""
    if len(scores) != len(positives):
        raise ValueError("need as many scores as labels")
    wanted = sum(positives)
    others = len(positives) - wanted
    if not wanted or not others:
        raise ValueError("need both positive and negative examples")
    order = sorted(range(len(scores)), key=scores.__getitem__)
    rank_sum = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        mean_rank = (i + j) / 2 + 1  # 1-based ranks, ties share their mean
        rank_sum += mean_rank * sum(1 for k in order[i : j + 1] if positives[k])
        i = j + 1
    return (rank_sum - wanted * (wanted + 1) / 2) / (wanted * others)


def recall_at_precision(scores: list[float], positives: list[bool], precision: float) -> float:
    """The highest recall of "score ≥ t" over every threshold t whose precision is at
    least ``precision`` (0.0 if none is)."""
    wanted = sum(positives)
    if not wanted:
        return 0.0
    best = hits = 0
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    for rank, index in enumerate(order):
        hits += positives[index]
        last_of_tie = rank + 1 == len(order) or scores[order[rank + 1]] != scores[index]
        if last_of_tie and hits >= precision * (rank + 1):
            best = max(best, hits)
    return best / wanted


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float  # fraction of the bin that is truly positive


def reliability(scores: list[float], positives: list[bool], bins: int = 10) -> list[ReliabilityBin]:
    """Calibration table: predictions in equal-width bins of [0, 1], each with how often
    the event really happened. A calibrated score has observed ≈ mean_predicted."""
    grouped: list[list[int]] = [[] for _ in range(bins)]
    for index, score in enumerate(scores):
        grouped[min(bins - 1, max(0, int(score * bins)))].append(index)
    table = []
    for number, members in enumerate(grouped):
        if members:
            table.append(
                ReliabilityBin(
                    number / bins,
                    (number + 1) / bins,
                    len(members),
                    sum(scores[i] for i in members) / len(members),
                    sum(1 for i in members if positives[i]) / len(members),
                )
            )
    return table


def expected_calibration_error(table: list[ReliabilityBin]) -> float:
    total = sum(b.count for b in table)
    if not total:
        return 0.0
    return sum(b.count * abs(b.mean_predicted - b.observed) for b in table) / total
