"""KPI definitions, on outcomes whose answers are known by hand."""

from __future__ import annotations

import pytest

from router.simulation.ledger import Ledger
from router.simulation.metrics import ContactOutcome, Usage, build_report
from skills.vocabulary import Channel
from tests.simulation_helpers import one_skill


def outcome(
    n: int,
    arrival: float,
    *,
    answered: float | None = None,
    abandoned: float | None = None,
    urgency: float = 0.0,
) -> ContactOutcome:
    return ContactOutcome(
        f"k{n}",
        "support",
        Channel.VOICE,
        arrival,
        urgency,
        f"c{n}",
        answered_at=answered,
        abandoned_at=abandoned,
    )


def test_each_kpi_has_its_own_denominator() -> None:
    outcomes = [
        outcome(1, 100, answered=100),  # at once
        outcome(2, 100, answered=110),  # 10 s: within the 20 s threshold
        outcome(3, 100, answered=150),  # 50 s: late
        outcome(4, 100, abandoned=105),  # left after 5 s
        outcome(5, 100),  # still waiting at the end
        outcome(6, 10, answered=200),  # arrived in the warm-up: not counted
    ]
    report = build_report(one_skill().config, outcomes, 1000, 50, Usage())
    k = report.overall
    assert (k.offered, k.answered, k.abandoned) == (5, 3, 1)
    assert k.p_wait == pytest.approx(4 / 5)  # over all arrivals: 2 waited, 1 left, 1 waits
    assert k.asa == pytest.approx(60 / 3)  # over answered
    assert k.service_level == pytest.approx(2 / 4)  # over answered + abandoned
    assert k.abandon_rate == pytest.approx(1 / 4)


def test_urgent_p90_counts_urgent_customers_who_gave_up() -> None:
    outcomes = [outcome(n, 0, answered=1, urgency=0.9) for n in range(8)]
    outcomes += [outcome(8, 0, abandoned=300, urgency=0.9), outcome(9, 0, abandoned=400)]
    outcomes += [outcome(10, 0, abandoned=500, urgency=0.9)]
    report = build_report(one_skill().config, outcomes, 1000, 0, Usage())
    assert report.high_urgency.offered == 10
    assert report.high_urgency_p90_wait == 300  # ninth of ten: an abandoner's 300 s
    assert report.high_urgency.abandon_rate == pytest.approx(0.2)


def test_occupancy_is_measured_per_channel_capacity_after_the_warm_up() -> None:
    ledger = Ledger(100, 1100)
    ledger.login("a", 0, {Channel.CHAT: 3, Channel.VOICE: 1})
    for n in range(3):  # three chats for the whole measured window
        ledger.hold(f"k{n}", "a", Channel.CHAT, 50)
    usage = ledger.close(1100)
    assert usage.logged == 1000
    assert usage.channel_occupancy() == {Channel.CHAT: pytest.approx(1.0)}
    assert usage.occupancy == pytest.approx(1.0)  # busy all the time, not 300%


def test_preferred_agent_counts_only_when_that_agent_was_free_in_time() -> None:
    ledger = Ledger(0, 1000)
    ledger.freed("a", 50)
    assert ledger.freed_between("a", 40, 60) and not ledger.freed_between("a", 51, 200)
    assert not ledger.freed_between("b", 0, 1000)
