"""KPIs of a simulated (or recorded) day, per queue and channel, and their text tables.

Service level = answered within the SLA threshold / (answered + abandoned), counting the
contacts that reached an outcome. ASA = mean wait of answered contacts. P(wait) = share of
answered contacts that waited at all (for the Erlang C check).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from router.rules.model import RoutingConfig
from skills.vocabulary import Channel


@dataclass
class ContactOutcome:
    contact_id: str
    queue: str
    channel: Channel
    arrival: float
    urgency: float
    customer: str
    preferred: str | None = None
    answered_at: float | None = None
    abandoned_at: float | None = None
    agent: str | None = None
    transfers: int = 0

    @property
    def wait(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.arrival


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Kpis:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    within_sla: int = 0
    waited: int = 0
    waits: list[float] = field(default_factory=list)

    def add(self, outcome: ContactOutcome, threshold: float) -> None:
        self.offered += 1
        if outcome.wait is not None:
            self.answered += 1
            self.waits.append(outcome.wait)
            self.within_sla += outcome.wait <= threshold
            self.waited += outcome.wait > 1e-9
        elif outcome.abandoned_at is not None:
            self.abandoned += 1

    @property
    def service_level(self) -> float:
        done = self.answered + self.abandoned
        return self.within_sla / done if done else 1.0

    @property
    def asa(self) -> float:
        return sum(self.waits) / len(self.waits) if self.waits else 0.0

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def p_wait(self) -> float:
        return self.waited / self.answered if self.answered else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "service_level": round(self.service_level, 4),
            "asa": round(self.asa, 2),
            "abandon_rate": round(self.abandon_rate, 4),
            "p_wait": round(self.p_wait, 4),
            "p90_wait": round(percentile(self.waits, 0.9), 1),
        }


@dataclass
class Report:
    duration: float
    rows: dict[tuple[str, str], Kpis]
    overall: Kpis
    high_urgency_p90_wait: float
    transfers_per_contact: float
    preferred_hit_rate: float | None
    occupancy: float

    def as_dict(self) -> dict[str, object]:
        return {
            "duration": self.duration,
            "overall": self.overall.as_dict(),
            "queues": {f"{q}/{c}": k.as_dict() for (q, c), k in sorted(self.rows.items())},
            "high_urgency_p90_wait": round(self.high_urgency_p90_wait, 1),
            "transfers_per_contact": round(self.transfers_per_contact, 4),
            "preferred_hit_rate": None
            if self.preferred_hit_rate is None
            else round(self.preferred_hit_rate, 4),
            "occupancy": round(self.occupancy, 4),
        }


def build_report(
    config: RoutingConfig,
    outcomes: list[ContactOutcome],
    duration: float,
    high_urgency: float,
    busy_seconds: float,
    logged_seconds: float,
) -> Report:
    rows: dict[tuple[str, str], Kpis] = defaultdict(Kpis)
    overall = Kpis()
    urgent_waits: list[float] = []
    preferred = hits = transfers = 0
    for outcome in outcomes:
        threshold = config.sla_for(outcome.queue, outcome.channel).threshold
        rows[(outcome.queue, outcome.channel.value)].add(outcome, threshold)
        overall.add(outcome, threshold)
        transfers += outcome.transfers
        if outcome.urgency >= high_urgency and outcome.wait is not None:
            urgent_waits.append(outcome.wait)
        if outcome.preferred is not None and outcome.wait is not None:
            preferred += 1
            hits += outcome.agent == outcome.preferred
    return Report(
        duration=duration,
        rows=dict(rows),
        overall=overall,
        high_urgency_p90_wait=percentile(urgent_waits, 0.9),
        transfers_per_contact=transfers / len(outcomes) if outcomes else 0.0,
        preferred_hit_rate=hits / preferred if preferred else None,
        occupancy=min(1.0, busy_seconds / logged_seconds) if logged_seconds else 0.0,
    )


def format_report(report: Report, title: str = "") -> str:
    lines = [title] if title else []
    header = (
        f"{'queue/channel':<24}{'offered':>8}{'answered':>9}{'SL':>8}{'ASA s':>8}"
        f"{'aband.':>8}{'p90 s':>8}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for (queue, channel), k in sorted(report.rows.items()):
        lines.append(_row(f"{queue}/{channel}", k))
    lines.append("-" * len(header))
    lines.append(_row("all", report.overall))
    hit = "n/a" if report.preferred_hit_rate is None else f"{report.preferred_hit_rate:.1%}"
    lines.append(
        f"p90 wait, high urgency: {report.high_urgency_p90_wait:.1f} s   "
        f"transfers/contact: {report.transfers_per_contact:.3f}   "
        f"preferred-agent hits: {hit}   occupancy: {report.occupancy:.1%}"
    )
    return "\n".join(lines)


def _row(name: str, k: Kpis) -> str:
    return (
        f"{name:<24}{k.offered:>8}{k.answered:>9}{k.service_level:>8.1%}{k.asa:>8.1f}"
        f"{k.abandon_rate:>8.1%}{percentile(k.waits, 0.9):>8.1f}"
    )


def format_comparison(first: Report, second: Report, names: tuple[str, str]) -> str:
    """Two configs, same traffic: the KPIs side by side, with the change."""
    a, b = first.overall, second.overall
    metrics = [
        ("service level", a.service_level, b.service_level, "{:.1%}"),
        ("ASA (s)", a.asa, b.asa, "{:.1f}"),
        ("abandonment", a.abandon_rate, b.abandon_rate, "{:.1%}"),
        (
            "p90 wait, high urgency (s)",
            first.high_urgency_p90_wait,
            second.high_urgency_p90_wait,
            "{:.1f}",
        ),
        (
            "transfers per contact",
            first.transfers_per_contact,
            second.transfers_per_contact,
            "{:.3f}",
        ),
        (
            "preferred-agent hits",
            first.preferred_hit_rate or 0.0,
            second.preferred_hit_rate or 0.0,
            "{:.1%}",
        ),
        ("occupancy", first.occupancy, second.occupancy, "{:.1%}"),
    ]
    width = max(len(names[0]), len(names[1]), 12) + 2
    lines = [f"{'':<28}{names[0]:>{width}}{names[1]:>{width}}"]
    for label, x, y, fmt in metrics:
        lines.append(f"{label:<28}{fmt.format(x):>{width}}{fmt.format(y):>{width}}")
    return "\n".join(lines)
