"""Who calls, and when: Poisson streams (constant or with a daily profile) and trace rows.

A non-constant rate is followed exactly by inverting the cumulative rate: the n-th
arrival of a stream comes when the expected number of arrivals since the previous one
reaches an exponential draw keyed by (stream, n), so every run with the same seed sees the
same arrival times whatever the routing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from router.simulation.draws import Draws
from router.simulation.scenario import Arrivals
from router.simulation.trace import TraceRow
from skills.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class Caller:
    """One contact to come: its stable key (the root of its random draws) and its traits."""

    key: str
    customer: str
    channel: Channel
    language: str | None
    intent: str = ""
    text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    angry_share: float = 0.0
    kind: str = "new"  # new | repeat | redial | trace
    stream: int | None = None  # the arrivals stream it came from (None: a trace row)
    row: TraceRow | None = None

    def again(self, kind: str) -> Caller:
        """The same customer coming back about the same thing (a repeat or a redial)."""
        suffix = "r" if kind == "repeat" else "d"
        return replace(self, key=self.key + suffix, kind=kind, row=None)


def from_stream(index: int, n: int, stream: Arrivals) -> Caller:
    key = f"a{index}.{n}"
    return Caller(
        key=key,
        customer=f"c{key}",
        channel=stream.channel,
        language=stream.language,
        intent=stream.intent,
        text=stream.text,
        attributes=dict(stream.attributes),
        angry_share=stream.angry_share,
        stream=index,
    )


def from_trace(row: TraceRow) -> Caller:
    key = f"t{row.row}"
    return Caller(
        key=key,
        customer=row.customer or f"c{key}",
        channel=row.channel,
        language=row.language,
        intent=row.intent,
        text=row.text,
        kind="trace",
        row=row,
    )


def next_arrival(stream: Arrivals, index: int, n: int, after: float, draws: Draws) -> float:
    """When the n-th arrival of a stream comes, the previous one having come at ``after``."""
    need = -math.log(draws.uniform(f"a{index}", "arrival", n))
    if stream.per_hour is not None:
        return after + need * 3600.0 / stream.per_hour
    profile = stream.profile
    assert profile is not None
    period = profile.interval * len(profile.per_hour)
    per_period = sum(profile.per_hour) * profile.interval / 3600.0
    t = after
    whole = math.floor(need / per_period)  # skip whole days at once
    t += whole * period
    need -= whole * per_period
    while True:
        rate = profile.rate_at(t)
        boundary = (math.floor(t / profile.interval + 1e-12) + 1) * profile.interval
        if boundary <= t:
            boundary += profile.interval
        expected = (boundary - t) * rate
        if rate > 0 and expected >= need:
            return t + need / rate
        need -= expected
        t = boundary
