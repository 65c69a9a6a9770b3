"""The simulator: Erlang C and Erlang A reproduced, KPIs of a busy day, what-if, the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from router.report import format_comparison, format_report
from router.rules.loader import ConfigError, load_rules, parse_model, parse_rules
from router.scenario import Scenario, load_scenario
from router.simulation.erlang import erlang_a, erlang_c
from router.simulator import simulate
from tests.paths import REPO, TEST_DATA

DATA = TEST_DATA


def test_erlang_c_figures_from_the_issue() -> None:
    figures = erlang_c(100 / 1800, 180, 14, 20)
    assert (round(figures.p_wait, 4), round(figures.service_level, 4)) == (0.1741, 0.8884)
    assert round(figures.mean_queue_time, 2) == 7.84


def test_erlang_a_meets_its_limits() -> None:
    """Patient customers: Erlang C. Customers who never wait: Erlang B (blocked = left)."""
    patient = erlang_a(100 / 1800, 180, 1e9, 14, 20)
    assert patient.service_level == pytest.approx(0.88835, abs=1e-4)
    assert patient.p_wait == pytest.approx(0.17413, abs=1e-4)
    impatient = erlang_a(100 / 1800, 180, 1e-9, 14, 20)
    load, blocked = 10.0, 1.0
    for servers in range(1, 15):  # Erlang B recursion
        blocked = load * blocked / (servers + load * blocked)
    assert impatient.abandonment == pytest.approx(blocked, rel=1e-3)


def test_one_skill_fifo_reproduces_erlang_c() -> None:
    rules = load_rules(DATA / "erlang_config.yaml")
    scenario = load_scenario(str(DATA / "erlang_scenario.yaml")).model_copy(
        update={"duration": 500 * 3600.0}
    )
    report = simulate(rules, scenario)
    expected = erlang_c(100 / 1800, 180, 14, 20)
    overall = report.overall
    assert overall.offered > 90_000 and overall.abandoned == 0
    # ~3 standard deviations of a 500 h run (measured over seeds: docs/simulator.md)
    assert overall.p_wait == pytest.approx(expected.p_wait, abs=0.02)
    assert overall.service_level == pytest.approx(expected.service_level, abs=0.02)
    assert overall.asa == pytest.approx(expected.mean_queue_time, abs=1.7)
    assert report.occupancy == pytest.approx(10 / 14, abs=0.02)


def test_one_skill_fifo_with_patience_reproduces_erlang_a() -> None:
    rules = load_rules(DATA / "erlang_config.yaml")
    scenario = load_scenario(str(DATA / "erlang_scenario.yaml")).model_copy(
        update={"duration": 300 * 3600.0}
    )
    scenario = Scenario.model_validate(scenario.model_dump() | {"patience": {"voice": "180s"}})
    report = simulate(rules, scenario)
    expected = erlang_a(100 / 1800, 180, 180, 14, 20)
    overall = report.overall
    assert overall.offered > 55_000 and overall.abandoned > 500
    # about 3 standard deviations of a 300 h run (docs/simulator.md)
    assert overall.p_wait == pytest.approx(expected.p_wait, abs=0.02)
    assert overall.service_level == pytest.approx(expected.service_level, abs=0.015)
    assert overall.abandon_rate == pytest.approx(expected.abandonment, abs=0.006)


BUSY = """
duration: 4h
seed: 5
arrivals:
  - {channel: voice, intent: billing, per_hour: 240, language: it, angry_share: 0.2}
  - {channel: chat, intent: billing, per_hour: 60, language: it, angry_share: 0.2}
handle_time: {voice: 3m, chat: 5m}
patience: {voice: 2m, chat: 5m}
resolution_rate: 0.6
repeat: {share: 0.8, after: 20m}
transfer_share: 0.1
warm_up: 0s
agents:
  - {count: 12, skills: {billing: 4, cards: 4, customer_care: 4, empathy: 3}, languages: [it]}
"""


def busy(**changes: object) -> Scenario:
    scenario = parse_model(BUSY, "busy.yaml", Scenario)[0]
    return Scenario.model_validate(scenario.model_dump() | changes)


def test_busy_day_counts_everything_and_measures_history() -> None:
    report = simulate(load_rules(REPO / "config.yaml"), busy())
    overall = report.overall
    assert overall.offered > 1000
    assert overall.answered + overall.abandoned <= overall.offered
    assert 0 < overall.abandon_rate < 0.5
    assert overall.p_wait >= overall.abandoned / overall.offered  # abandoners all waited
    assert report.transfers_per_contact == pytest.approx(0.1, abs=0.03)
    assert 0.05 < report.repeat_share < 0.4  # unresolved customers came back
    assert report.contacts_per_customer == pytest.approx(1 / (1 - report.repeat_share), rel=0.05)
    assert report.preferred_hit_rate is not None and report.preferred_hit_rate > 0.3
    assert 0.5 < report.occupancy <= 1.0
    text = format_report(report, "busy")
    assert "billing/voice" in text and "preferred-agent hits" in text


def test_urgency_weight_cuts_the_wait_of_upset_customers() -> None:
    shipped = (REPO / "config.yaml").read_text()
    flat = re.sub(r"urgency_weight: \d+ ", "urgency_weight: 0 ", shipped)
    assert flat != shipped
    with_urgency = simulate(parse_rules(shipped), busy())
    without = simulate(parse_rules(flat), busy())
    assert with_urgency.overall.offered > 1000
    assert with_urgency.high_urgency_p90_wait < without.high_urgency_p90_wait
    table = format_comparison(with_urgency, without, ("urgency", "no urgency"))
    assert "p90 wait, high urgency (s)" in table


def test_same_seed_same_result() -> None:
    rules = load_rules(REPO / "config.yaml")
    assert simulate(rules, busy()).as_dict() == simulate(rules, busy()).as_dict()


def test_bad_scenario_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("duration: 1h\narrivals:\n  - {channel: fax, per_hour: 3}\nagents: []\n")
    with pytest.raises(ConfigError) as caught:
        load_scenario(str(path))
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith(f"{path}:3:") and "channel" in m for m in messages)
    assert any("agents" in m for m in messages)


def test_cli_simulate_and_compare(tmp_path: Path) -> None:
    scenario = tmp_path / "short.yaml"
    text = (DATA / "erlang_scenario.yaml").read_text().replace("duration: 200h", "duration: 20h")
    scenario.write_text(text)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.server.cli",
            "simulate",
            str(scenario),
            "--config",
            str(DATA / "erlang_config.yaml"),
            "--compare",
            str(DATA / "erlang_config.yaml"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "support/voice" in done.stdout and "service level" in done.stdout
    assert "simulating" in done.stderr  # the progress bar


def test_the_wait_estimate_is_unbiased_where_queueing_theory_says_so() -> None:
    """One skill, FIFO, exponential handle times (M/M/14): a contact with k ahead of it and
    every agent busy waits k + 1 departures at 14 / 180 s each, which is what the estimate
    says, so its mean error is ~0; the report gives the absolute error's median and p90."""
    from router.simulation.loop import Simulation
    from router.simulation.metrics import QUEUED

    rules = load_rules(DATA / "erlang_config.yaml")
    scenario = load_scenario(str(DATA / "erlang_scenario.yaml")).model_copy(
        update={"duration": 150 * 3600.0}
    )
    simulation = Simulation(rules, scenario)
    report = simulation.run()
    queued = [
        (o.estimate, o.wait)
        for o in simulation.contacts.values()
        if o.queued_at_arrival and o.estimate is not None and o.wait is not None
    ]
    assert len(queued) > 3000
    bias = sum(estimate - wait for estimate, wait in queued) / len(queued)
    assert abs(bias) < 3.0, bias  # seconds; a position is worth 180/14 = 12.9 s
    error = report.estimate_error(QUEUED)
    assert error["contacts"] == len(queued)
    assert 0 < error["median_abs_error"] < error["p90_abs_error"] < 60
    assert "wait estimate at arrival" in format_report(report)
    assert report.as_dict()["wait_estimate_error"]["queued"] == error  # type: ignore[index]


OVERFLOW_SCENARIO = """
duration: 4h
seed: 7
arrivals:
  - {channel: voice, intent: cancel_account, per_hour: 40, language: it}
  - {channel: voice, intent: billing, per_hour: 60, language: it}
handle_time: {voice: 5m}
patience: {voice: 4m}
agents:
  - {name: retention, count: 2, skills: {retention: 4}, languages: [it]}
  - {name: care, count: 8, skills: {customer_care: 4, billing: 3}, languages: [it]}
"""


def test_overflow_lets_first_line_help_an_understaffed_queue() -> None:
    """The shipped retention overflow (after 45 s, or at once on a long estimate) to
    customer care: retention's service level rises, and it is still retention's."""
    from tests.simulation_helpers import scenario

    text = (REPO / "config.yaml").read_text()
    start = text.index("    overflow:\n")
    end = text.index("\n\n", start)
    without = text[:start] + text[end + 1 :]
    plan = scenario(OVERFLOW_SCENARIO)
    on = simulate(parse_rules(text), plan).rows[("retention", "voice")]
    off = simulate(parse_rules(without), plan).rows[("retention", "voice")]
    assert off.service_level < 0.4 and on.service_level > off.service_level + 0.3
    assert on.abandon_rate < off.abandon_rate
