"""Simulated agents: shifts and breaks, ring time, missed offers, occupancy."""

from __future__ import annotations

import pytest

from tests.simulation_helpers import one_skill, run, scenario

STEADY = """
duration: 4h
warm_up: 0s
arrivals: [{channel: voice, per_hour: 120}]
handle_time: {voice: 3m}
agents: [{count: 12, skills: {support: 1}}]
"""


def test_nobody_answers_on_a_break_or_off_shift() -> None:
    plan = scenario(
        """
duration: 4h
warm_up: 0s
arrivals: [{channel: voice, per_hour: 200}]
handle_time: {voice: 2m}
patience: {voice: 5m}
agents:
  - {name: early, count: 4, skills: {support: 1}, shift: {start: 0h, end: 2h,
     breaks: [{start: 1h, length: 20m}]}}
  - {name: late, count: 4, skills: {support: 1}, shift: {start: 2h, end: 4h}}
"""
    )
    simulation = run(one_skill(), plan)
    for outcome in simulation.contacts.values():
        if outcome.answered_at is None:
            continue
        early = outcome.agent is not None and outcome.agent.startswith("early")
        if early:
            assert not 3600 < outcome.answered_at < 3600 + 1200  # on their break
            assert outcome.answered_at <= 7200
        else:
            assert outcome.answered_at >= 7200
    report = simulation.report()
    assert report.overall.answered > 300 and 0 < report.occupancy <= 1.0


def test_offers_ring_before_they_are_answered() -> None:
    plan = scenario(STEADY, ring_time={"voice": {"dist": "fixed", "value": "6s"}})
    simulation = run(one_skill(), plan)
    waits = [o.wait for o in simulation.contacts.values() if o.wait is not None]
    assert len(waits) > 300
    assert min(waits) == pytest.approx(6.0) and sorted(waits)[len(waits) // 2] == pytest.approx(6)


def test_missed_offers_ring_out_and_go_elsewhere() -> None:
    plan = scenario(STEADY, missed_offers=0.2, not_ready_for="30s")
    simulation = run(one_skill(), plan)
    report = simulation.report()
    waits = [o.wait for o in simulation.contacts.values() if o.wait is not None]
    rang_out = [w for w in waits if w >= 15.0]  # the config's offer timeout
    assert 0.1 < len(rang_out) / len(waits) < 0.35
    assert report.overall.answered == report.overall.offered - sum(
        1 for o in simulation.contacts.values() if o.answered_at is None
    )
    # agents put "not ready" after two misses came back and kept answering
    late = [o for o in simulation.contacts.values() if o.arrival > 3 * 3600]
    assert late and all(o.answered_at is not None for o in late if o.arrival < 4 * 3600 - 60)
