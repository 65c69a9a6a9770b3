"""Every contact-center metric, defined once. Reports (router/reports/), the wallboard,
/metrics and the simulator (router/simulation/metrics.py) all count and divide with these.

Counts:

- **offered**: contacts that arrived (counted once, in the queue they were first routed to);
- **answered**: contacts answered for the first time (an agent accepted); the wait is from
  the contact's arrival to that answer;
- **answered within SLA**: answered with a wait ≤ the SLA threshold of its queue and channel;
- **abandoned**: the customer left before an answer; a **short abandon** left within the
  ``reports.short_abandon`` threshold (config) and counts in neither service level nor
  abandonment — a wrong number, a changed mind — but stays in ``abandoned``;
- **handled**: an agent finished holding a contact (completed, transferred, taken back by a
  supervisor or requeued at logout); **handle time** is from its answer by that agent to
  then, wrap-up included. A transferred contact is handled once by each agent who held it;
- **transfers**: by the agent who transferred;
- **busy**: time an agent held at least one contact; **logged in**: time not offline.

Ratios (None when there is nothing to divide by):

- **service level** = answered within SLA ÷ (answered + abandoned − short abandons);
- **ASA** (average speed of answer) = total wait of answered ÷ answered;
- **abandonment** = (abandoned − short abandons) ÷ (answered + abandoned − short abandons);
- **AHT** (average handle time) = total handle time ÷ handled;
- **occupancy** = busy ÷ logged in;
- **CSAT** = mean of the 1–5 answers; **satisfied** = share of 4 and 5;
- **NPS** = 100 × (promoters (9–10) − detractors (0–6)) ÷ answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


def within_sla(wait: float, threshold: float) -> bool:
    return wait <= threshold


def is_short_abandon(waited: float, short_abandon: float) -> bool:
    return waited < short_abandon


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def promoter(score: int) -> bool:
    return score >= 9


def detractor(score: int) -> bool:
    return score <= 6


def satisfied(score: int) -> bool:
    return score >= 4


@dataclass
class Counts:
    """Additive counters of one group (an interval, a day, a queue, an agent...): sums of
    Counts are Counts, so intervals add up to days exactly."""

    offered: int = 0
    answered: int = 0
    answered_within: int = 0
    wait_total: float = 0.0
    abandoned: int = 0
    short_abandoned: int = 0
    handled: int = 0
    handle_total: float = 0.0
    transfers: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    nps_count: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    waits: list[float] = field(default_factory=list, repr=False)  # kept only by the simulator

    # ------------------------------------------------------------ counting

    def answer(self, wait: float, threshold: float, *, keep_wait: bool = False) -> None:
        self.answered += 1
        self.wait_total += wait
        self.answered_within += within_sla(wait, threshold)
        if keep_wait:
            self.waits.append(wait)

    def abandon(self, waited: float, short_abandon: float) -> None:
        self.abandoned += 1
        self.short_abandoned += is_short_abandon(waited, short_abandon)

    def handle(self, seconds: float) -> None:
        self.handled += 1
        self.handle_total += seconds

    def feedback(self, csat: int | None, nps: int | None) -> None:
        if csat is not None:
            self.csat_count += 1
            self.csat_sum += csat
            self.csat_satisfied += satisfied(csat)
        if nps is not None:
            self.nps_count += 1
            self.nps_promoters += promoter(nps)
            self.nps_detractors += detractor(nps)

    def merge(self, other: Counts) -> None:
        for spec in fields(self):
            if spec.name == "waits":
                self.waits.extend(other.waits)
            else:
                setattr(self, spec.name, getattr(self, spec.name) + getattr(other, spec.name))

    # -------------------------------------------------------------- ratios

    @property
    def counted_abandons(self) -> int:
        return self.abandoned - self.short_abandoned

    @property
    def done(self) -> int:
        """Contacts that count for service level: answered + abandoned − short abandons."""
        return self.answered + self.counted_abandons

    @property
    def service_level(self) -> float | None:
        return ratio(self.answered_within, self.done)

    @property
    def asa(self) -> float | None:
        return ratio(self.wait_total, self.answered)

    @property
    def abandon_rate(self) -> float | None:
        return ratio(self.counted_abandons, self.done)

    @property
    def aht(self) -> float | None:
        return ratio(self.handle_total, self.handled)

    @property
    def csat(self) -> float | None:
        return ratio(self.csat_sum, self.csat_count)

    @property
    def csat_satisfied_share(self) -> float | None:
        return ratio(self.csat_satisfied, self.csat_count)

    @property
    def nps(self) -> float | None:
        share = ratio(self.nps_promoters - self.nps_detractors, self.nps_count)
        return None if share is None else 100 * share


def occupancy(busy: float, logged_in: float) -> float | None:
    return ratio(busy, logged_in)


COUNT_FIELDS = tuple(spec.name for spec in fields(Counts) if spec.name != "waits")
