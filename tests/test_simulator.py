"""The simulator: Erlang C reproduced, KPIs, what-if comparison, the CLI."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from router.report import format_comparison, format_report
from router.rules.loader import ConfigError, load_rules, parse_rules
from router.scenario import Scenario, load_scenario
from router.simulator import simulate

DATA = Path(__file__).resolve().parent / "data"
REPO = DATA.parent.parent


def erlang_c(
    calls_per_second: float, handle: float, agents: int, threshold: float
) -> tuple[float, float, float]:
    """P(wait), service level within threshold and ASA of an M/M/c queue."""
    load = calls_per_second * handle
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    bottom = sum(load**k / math.factorial(k) for k in range(agents)) + top
    p_wait = top / bottom
    service_level = 1 - p_wait * math.exp(-(agents - load) * threshold / handle)
    return p_wait, service_level, p_wait * handle / (agents - load)


def test_erlang_c_figures_from_the_issue() -> None:
    p_wait, service_level, asa = erlang_c(100 / 1800, 180, 14, 20)
    assert (round(p_wait, 4), round(service_level, 4), round(asa, 2)) == (0.1741, 0.8884, 7.84)


def test_one_skill_fifo_reproduces_erlang_c() -> None:
    rules = load_rules(DATA / "erlang_config.yaml")
    scenario = load_scenario(str(DATA / "erlang_scenario.yaml")).model_copy(
        update={"duration": 500 * 3600.0}
    )
    report = simulate(rules, scenario)
    p_wait, service_level, asa = erlang_c(100 / 1800, 180, 14, 20)
    overall = report.overall
    assert overall.offered > 95_000 and overall.abandoned == 0
    # ~3 standard deviations of a 500 h run (measured over seeds: docs/simulator.md)
    assert overall.p_wait == pytest.approx(p_wait, abs=0.02)
    assert overall.service_level == pytest.approx(service_level, abs=0.02)
    assert overall.asa == pytest.approx(asa, abs=1.7)
    assert report.occupancy == pytest.approx(10 / 14, abs=0.02)


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
agents:
  - {count: 12, skills: {billing: 4, cards: 4, customer_care: 4, empathy: 3}, languages: [it]}
"""


def busy() -> Scenario:
    from router.rules.loader import parse_model

    return parse_model(BUSY, "busy.yaml", Scenario)[0]


def test_busy_day_counts_everything_and_measures_history() -> None:
    report = simulate(load_rules(REPO / "config.yaml"), busy())
    overall = report.overall
    assert overall.offered > 1000
    assert overall.answered + overall.abandoned <= overall.offered
    assert 0 < overall.abandon_rate < 0.5
    assert report.transfers_per_contact == pytest.approx(
        0.1 * overall.answered / overall.offered, abs=0.03
    )
    assert report.preferred_hit_rate is not None and report.preferred_hit_rate > 0.3
    assert 0.5 < report.occupancy <= 1.0
    text = format_report(report, "busy")
    assert "billing/voice" in text and "preferred-agent hits" in text


def test_urgency_weight_cuts_the_wait_of_upset_customers() -> None:
    shipped = (REPO / "config.yaml").read_text()
    flat = shipped.replace("urgency_weight: 20 ", "urgency_weight: 0 ")
    assert flat != shipped
    with_urgency = simulate(parse_rules(shipped), busy())
    without = simulate(parse_rules(flat), busy())
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


def test_cli_simulate_and_compare() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.server.cli",
            "simulate",
            str(DATA / "erlang_scenario.yaml"),
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
