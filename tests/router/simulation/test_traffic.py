"""Simulated traffic: common random numbers, profiles, distributions, redials."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from router.rules.loader import ConfigError, load_rules, parse_rules
from router.simulation.draws import Draws
from router.simulation.loop import Simulation
from router.simulation.scenario import load_scenario
from tests.paths import REPO
from tests.simulation_helpers import one_skill, run, scenario

BUSY = """
duration: 3h
seed: 9
arrivals:
  - {channel: voice, intent: billing, per_hour: 240, language: it, angry_share: 0.2}
  - {channel: chat, intent: tech, per_hour: 60, language: it, angry_share: 0.3}
handle_time: {voice: {dist: lognormal, mean: 3m, sigma: 1}, chat: 5m}
patience: {voice: 2m, chat: 5m}
resolution_rate: 0.6
repeat: {share: 0.8, after: 20m}
redial: {probability: 0.4, after: 3m}
transfer_share: 0.1
agents:
  - {count: 10, skills: {billing: 4, tech: 4, cards: 4, customer_care: 4, empathy: 3}}
"""


def test_draws_depend_on_their_key_only() -> None:
    draws = Draws(3)
    first = [draws.uniform(f"a0.{n}", "handle") for n in range(5)]
    draws.uniform("something", "else")  # another draw in between changes nothing
    assert [draws.uniform(f"a0.{n}", "handle") for n in range(5)] == first
    assert Draws(4).uniform("a0.0", "handle") != first[0]
    values = [draws.uniform("k", "p", n) for n in range(20_000)]
    assert min(values) > 0 and max(values) < 1
    assert statistics.mean(values) == pytest.approx(0.5, abs=0.01)


def test_two_configs_see_the_same_contacts() -> None:
    """Common random numbers: routing changes, the customers do not."""
    shipped = (REPO / "config.yaml").read_text()
    flat = shipped.replace("ageing_weight: 10", "ageing_weight: 1")
    assert flat != shipped
    plan = scenario(BUSY)
    one, other = run(parse_rules(shipped), plan), run(parse_rules(flat), plan)

    def firsts(sim: Simulation) -> dict[str, tuple[float, float, float | None]]:
        return {
            key: (o.arrival, o.urgency, sim.drawn[key].patience)
            for key, o in sim.contacts.items()
            if o.kind == "new"
        }

    assert firsts(one) == firsts(other)
    assert len(firsts(one)) > 800
    # routing did differ, and so did what followed from it (answers, redials, repeats)
    answered = {k: o.answered_at for k, o in one.contacts.items()}
    assert answered != {k: o.answered_at for k, o in other.contacts.items()}


def test_arrivals_follow_a_daily_profile() -> None:
    plan = scenario(
        """
duration: 4h
arrivals:
  - {channel: voice, profile: {interval: 1h, per_hour: [0, 900, 100, 0]}}
agents: [{count: 0}]
"""
    )
    simulation = run(one_skill(), plan)
    per_hour = [0, 0, 0, 0]
    for outcome in simulation.contacts.values():
        per_hour[int(outcome.arrival // 3600)] += 1
    assert per_hour[0] == 0 and per_hour[3] == 0
    assert per_hour[1] == pytest.approx(900, rel=0.1)
    assert per_hour[2] == pytest.approx(100, rel=0.3)
    assert plan.warm_up_seconds == 0  # a day is not a steady state


def test_lognormal_empirical_and_per_intent_handle_times(tmp_path: Path) -> None:
    (tmp_path / "chats.csv").write_text("seconds\n60\n120\n4m\n600\n")
    path = tmp_path / "plan.yaml"
    path.write_text(
        """
duration: 20h
warm_up: 0s
arrivals:
  - {channel: voice, per_hour: 200}
  - {channel: voice, intent: lost_card, per_hour: 10}
  - {channel: chat, per_hour: 100}
handle_time:
  voice: {dist: lognormal, mean: 5m, sigma: 1}
  chat: {dist: empirical, file: chats.csv, column: seconds}
handle_times: [{intent: lost_card, time: {dist: fixed, value: 42s}}]
agents: [{count: 60, skills: {support: 1}}]
"""
    )
    simulation = run(one_skill(), load_scenario(str(path)))
    by_kind: dict[str, list[float]] = {"voice": [], "lost_card": [], "chat": []}
    for key, outcome in simulation.contacts.items():
        handle = simulation.drawn[key].handle_time
        assert handle is not None
        name = "lost_card" if key.startswith("a1.") else outcome.channel.value
        by_kind[name].append(handle)
    voice = by_kind["voice"]
    assert len(voice) > 3500
    assert statistics.mean(voice) == pytest.approx(300, rel=0.08)
    assert statistics.median(voice) == pytest.approx(300 * 2.718281828**-0.5, rel=0.08)
    assert set(by_kind["lost_card"]) == {42.0}
    assert set(by_kind["chat"]) == {60.0, 120.0, 240.0, 600.0}


def test_missing_data_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(
        "duration: 1h\narrivals: [{channel: voice, per_hour: 1}]\n"
        "handle_time: {voice: {dist: empirical, file: nowhere.csv}}\nagents: [{count: 1}]\n"
    )
    with pytest.raises(ConfigError, match=r"nowhere\.csv"):
        load_scenario(str(path))


def test_several_chats_at_once_are_slower() -> None:
    plan = scenario(
        """
duration: 10h
warm_up: 1h
arrivals: [{channel: chat, per_hour: 60}]
handle_time: {chat: {dist: fixed, value: 100s}}
concurrency_slowdown: {chat: 0.5}
agents: [{count: 1, skills: {support: 1}, capacity: {chat: 3}}]
"""
    )
    simulation = run(one_skill(), plan)
    handles = {simulation.drawn[k].handle_time for k in simulation.contacts} - {None}
    assert handles <= {100.0, 150.0, 200.0} and 200.0 in handles
    usage = simulation.report().usage
    chat = usage.channel_occupancy()
    assert 0.9 < chat[next(iter(chat))] <= 1.0 + 1e-9  # 3 chats of 3 slots: 100%, not 300%
    assert 0.9 < usage.occupancy <= 1.0 + 1e-9


def test_patience_distributions_and_upset_customers_leave_sooner() -> None:
    plan = scenario(
        """
duration: 10h
warm_up: 0s
arrivals: [{channel: voice, per_hour: 600, angry_share: 0.5}]
patience: {voice: {dist: lognormal, mean: 100s, sigma: 0.5}}
upset_patience: 0.5
agents: [{count: 0}]
"""
    )
    simulation = run(one_skill(), plan)
    upset, calm = [], []
    for key, outcome in simulation.contacts.items():
        assert outcome.abandoned_at is not None or outcome.arrival > plan.duration - 600
        (upset if key in simulation.upset else calm).append(simulation.drawn[key].patience)
    assert statistics.mean(calm) == pytest.approx(100, rel=0.05)
    assert statistics.mean(upset) == pytest.approx(50, rel=0.05)


def test_abandoners_redial() -> None:
    plan = scenario(
        """
duration: 20h
warm_up: 0s
arrivals: [{channel: voice, per_hour: 100}]
patience: {voice: 30s}
redial: {probability: 0.5, after: 2m}
agents: [{count: 0}]
"""
    )
    report = run(one_skill(), plan).report()
    assert report.overall.abandon_rate == pytest.approx(1.0, abs=0.01)
    # each abandoner comes back with probability 0.5: half of all contacts are redials
    assert report.redial_share == pytest.approx(0.5, abs=0.03)
    assert report.contacts_per_customer == pytest.approx(2.0, rel=0.05)


def test_shipped_bench_scenarios_load() -> None:
    for path in (REPO / "bench" / "scenarios").glob("*.yaml"):
        load_scenario(str(path))
    load_rules(REPO / "config.yaml")
