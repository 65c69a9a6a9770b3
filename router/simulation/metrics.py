"""KPIs of a simulated (or recorded) day, per queue and channel. Offered, answered, service
level, ASA, abandonment (short abandons under config ``reports.short_abandon`` left out) and
occupancy are router/kpis.py's definitions, shared with the live reports; here also:

- **offered**: contacts that arrived after the warm-up (repeats and redials included);
- **P(wait)**: share of *all* offered contacts that did not reach an agent at once
  (answered after a wait, abandoned, or still waiting at the end);
- **high-urgency p90**: 90th percentile of the time in queue of contacts with urgency ≥ 0.6,
  answered *or abandoned* (an abandoner counts with the time it waited before leaving, a
  lower bound of the wait it would have had);
- **occupancy**: time agents held at least one contact ÷ time logged in, and per channel,
  contact-seconds handled ÷ (logged-in seconds × capacity on that channel): an agent with
  three chats for the whole hour is 100% of its chat capacity, never 300%;
- **transfers** per answered contact, **contacts per customer** and the share of contacts
  that are repeats (unresolved, back again) or redials (after abandoning);
- **preferred-agent hits**: of the contacts with a preferred agent who was free at arrival
  or became free within the configured wait, the share that agent answered.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from router.kpis import Counts, occupancy
from router.rules.model import RoutingConfig
from skills.vocabulary import Channel

HIGH_URGENCY = 0.6
QUEUED = "queued"
"""Key of the wait-estimate errors of contacts that were not offered at once."""


@dataclass
class ContactOutcome:
    contact_id: str
    queue: str
    channel: Channel
    arrival: float
    urgency: float
    customer: str
    preferred: str | None = None
    preferred_wait: float = 0.0
    preferred_reachable: bool = False  # the preferred agent was free in the window
    answered_at: float | None = None
    abandoned_at: float | None = None
    agent: str | None = None
    transfers: int = 0
    kind: str = "new"  # new | repeat | redial | trace
    estimate: float | None = None  # the wait estimate at arrival (router/estimate.py)
    queued_at_arrival: bool = False  # not offered at once: it had to wait

    @property
    def wait(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.arrival

    @property
    def time_in_queue(self) -> float | None:
        """Until answered or until the customer left; None if still waiting."""
        if self.answered_at is not None:
            return self.answered_at - self.arrival
        if self.abandoned_at is not None:
            return self.abandoned_at - self.arrival
        return None


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


@dataclass
class Kpis(Counts):
    """A simulated group's counts (router/kpis.py defines them and their ratios) plus
    P(wait). With nothing to count, service level is 1.0 and ASA and abandonment 0."""

    waited: int = 0

    def add(self, outcome: ContactOutcome, threshold: float, short_abandon: float = 0.0) -> None:
        self.offered += 1
        wait = outcome.wait
        if wait is not None:
            self.answer(wait, threshold, keep_wait=True)
            self.waited += wait > 1e-9
        else:
            self.waited += 1
            if outcome.abandoned_at is not None:
                self.abandon(outcome.abandoned_at - outcome.arrival, short_abandon)

    @property
    def service_level(self) -> float:
        level = super().service_level
        return 1.0 if level is None else level

    @property
    def asa(self) -> float:
        return super().asa or 0.0

    @property
    def abandon_rate(self) -> float:
        return super().abandon_rate or 0.0

    @property
    def p_wait(self) -> float:
        return self.waited / self.offered if self.offered else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "short_abandoned": self.short_abandoned,
            "service_level": round(self.service_level, 4),
            "asa": round(self.asa, 2),
            "abandon_rate": round(self.abandon_rate, 4),
            "p_wait": round(self.p_wait, 4),
            "p90_wait": round(percentile(self.waits, 0.9), 1),
        }


@dataclass
class Usage:
    """Agent time, measured after the warm-up."""

    logged: float = 0.0  # agent-seconds logged in
    busy: float = 0.0  # agent-seconds holding at least one contact
    slots: dict[Channel, float] = field(default_factory=dict)  # logged × capacity
    handled: dict[Channel, float] = field(default_factory=dict)  # contact-seconds held

    @property
    def occupancy(self) -> float:
        return occupancy(self.busy, self.logged) or 0.0

    def channel_occupancy(self) -> dict[Channel, float]:
        return {
            channel: self.handled.get(channel, 0.0) / slots
            for channel, slots in sorted(self.slots.items())
            if slots > 0 and channel in self.handled
        }


@dataclass
class Report:
    duration: float
    warm_up: float
    rows: dict[tuple[str, str], Kpis]
    channels: dict[str, Kpis]
    overall: Kpis
    high_urgency: Kpis
    high_urgency_p90_wait: float
    transfers_per_contact: float
    contacts_per_customer: float
    repeat_share: float
    redial_share: float
    preferred_reachable: int
    preferred_hits: int
    usage: Usage
    recorded: dict[str, Kpis] = field(default_factory=dict)  # a trace's own outcomes
    estimate_errors: dict[str, list[float]] = field(default_factory=dict)
    """Per channel: |estimated wait at arrival − wait experienced| of answered contacts."""

    def estimate_error(self, channel: str | None = None) -> dict[str, float]:
        """Median and p90 absolute error of the wait estimate (all channels if None)."""
        if channel is None:
            errors = [
                e for key, values in self.estimate_errors.items() if key != QUEUED for e in values
            ]
        else:
            errors = self.estimate_errors.get(channel, [])
        return {
            "contacts": len(errors),
            "median_abs_error": round(percentile(errors, 0.5), 1),
            "p90_abs_error": round(percentile(errors, 0.9), 1),
        }

    @property
    def preferred_hit_rate(self) -> float | None:
        if not self.preferred_reachable:
            return None
        return self.preferred_hits / self.preferred_reachable

    @property
    def occupancy(self) -> float:
        return self.usage.occupancy

    def as_dict(self) -> dict[str, object]:
        hit = self.preferred_hit_rate
        return {
            "duration": self.duration,
            "warm_up": self.warm_up,
            "overall": self.overall.as_dict(),
            "channels": {c: k.as_dict() for c, k in sorted(self.channels.items())},
            "queues": {f"{q}/{c}": k.as_dict() for (q, c), k in sorted(self.rows.items())},
            "high_urgency": self.high_urgency.as_dict(),
            "high_urgency_p90_wait": round(self.high_urgency_p90_wait, 1),
            "transfers_per_contact": round(self.transfers_per_contact, 4),
            "contacts_per_customer": round(self.contacts_per_customer, 4),
            "repeat_share": round(self.repeat_share, 4),
            "redial_share": round(self.redial_share, 4),
            "preferred_reachable": self.preferred_reachable,
            "preferred_hit_rate": None if hit is None else round(hit, 4),
            "occupancy": round(self.occupancy, 4),
            "channel_occupancy": {
                c.value: round(v, 4) for c, v in self.usage.channel_occupancy().items()
            },
            "recorded": {name: k.as_dict() for name, k in sorted(self.recorded.items())},
            "wait_estimate_error": {
                "all": self.estimate_error(),
                **{c: self.estimate_error(c) for c in sorted(self.estimate_errors)},
            },
        }


def build_report(
    config: RoutingConfig,
    outcomes: list[ContactOutcome],
    duration: float,
    warm_up: float,
    usage: Usage,
) -> Report:
    rows: dict[tuple[str, str], Kpis] = defaultdict(Kpis)
    channels: dict[str, Kpis] = defaultdict(Kpis)
    overall, urgent = Kpis(), Kpis()
    urgent_times: list[float] = []
    reachable = hits = transfers = repeats = redials = 0
    customers: set[str] = set()
    estimate_errors: dict[str, list[float]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.arrival < warm_up:
            continue
        if outcome.estimate is not None and outcome.wait is not None:
            error = abs(outcome.estimate - outcome.wait)
            estimate_errors[outcome.channel.value].append(error)
            if outcome.queued_at_arrival:
                estimate_errors[QUEUED].append(error)
        threshold = config.sla_for(outcome.queue, outcome.channel).threshold
        short = config.reports.short_abandon
        rows[(outcome.queue, outcome.channel.value)].add(outcome, threshold, short)
        channels[outcome.channel.value].add(outcome, threshold, short)
        overall.add(outcome, threshold, short)
        customers.add(outcome.customer)
        transfers += outcome.transfers
        repeats += outcome.kind == "repeat"
        redials += outcome.kind == "redial"
        if outcome.urgency >= HIGH_URGENCY:
            urgent.add(outcome, threshold, short)
            in_queue = outcome.time_in_queue
            if in_queue is not None:
                urgent_times.append(in_queue)
        if outcome.preferred is not None and outcome.preferred_reachable:
            reachable += 1
            hits += outcome.agent == outcome.preferred
    count = overall.offered
    return Report(
        duration=duration,
        warm_up=warm_up,
        rows=dict(rows),
        channels=dict(channels),
        overall=overall,
        high_urgency=urgent,
        high_urgency_p90_wait=percentile(urgent_times, 0.9),
        transfers_per_contact=transfers / overall.answered if overall.answered else 0.0,
        contacts_per_customer=count / len(customers) if customers else 0.0,
        repeat_share=repeats / count if count else 0.0,
        redial_share=redials / count if count else 0.0,
        preferred_reachable=reachable,
        preferred_hits=hits,
        usage=usage,
        estimate_errors=dict(estimate_errors),
    )
