"""Trace replay: a recorded day replayed, and checked against its record."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.rules.loader import ConfigError
from router.simulation.replay import record_day
from router.simulation.scenario import load_scenario
from router.simulation.text import format_report
from router.simulation.trace import read_trace, write_trace
from tests.simulation_helpers import one_skill, run, scenario

DAY = """
duration: 6h
seed: 4
arrivals:
  - {channel: voice, profile: {interval: 1h, per_hour: [120, 260, 300, 200, 150, 80]},
     angry_share: 0.2}
  - {channel: chat, per_hour: 40}
handle_time: {voice: {dist: lognormal, mean: 3m, sigma: 1}, chat: 6m}
patience: {voice: 2m, chat: 10m}
resolution_rate: 0.7
repeat: {share: 0.5, after: 30m}
agents:
  - {count: 9, skills: {support: 1}}
  - {count: 4, skills: {support: 1},
     shift: {start: 1h, end: 5h, breaks: [{start: 3h, length: 15m}]}}
"""


def test_a_recorded_day_replays_as_recorded(tmp_path: Path) -> None:
    rules = one_skill()
    original = run(rules, scenario(DAY))
    rows = record_day(original)
    assert len(rows) > 1000 and any(r.outcome == "abandoned" for r in rows)
    write_trace(tmp_path / "day.csv", rows)
    (tmp_path / "replay.yaml").write_text(
        DAY.split("arrivals:")[0]
        + "trace: day.csv\npatience: {voice: 2m, chat: 10m}\n"
        + "agents:"
        + DAY.split("agents:")[1]
    )
    plan = load_scenario(str(tmp_path / "replay.yaml"))
    assert plan.warm_up_seconds == 0  # a day replay keeps its morning
    replay = run(rules, plan)
    report = replay.report()
    for channel, was in report.recorded.items():
        now = report.overall if channel == "all" else report.channels[channel]
        assert now.offered == was.offered
        assert now.service_level == pytest.approx(was.service_level, abs=0.01)
        assert now.abandon_rate == pytest.approx(was.abandon_rate, abs=0.005)
        assert now.asa == pytest.approx(was.asa, rel=0.05, abs=0.5)
    assert "replay vs recorded" in format_report(report)


def test_trace_rows_are_triaged_like_live_contacts(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "arrival,channel,language,text,urgency,customer,handle_time\n"
        '08:00:00,chat,it,"Sono furioso, è la terza volta che scrivo!!! Vergognatevi",,c1,60\n'
        "08:00:05,voice,en,,0.9,c2,30\n"
        "08:00:10,voice,it,buongiorno,,c3,30\n"
    )
    rows = read_trace(str(path))
    assert [r.arrival for r in rows] == [28800.0, 28805.0, 28810.0]
    plan = scenario(
        "duration: 9h\ntrace: PLACEHOLDER\n"
        "agents: [{count: 2, skills: {support: 1}, languages: [it, en]}]\n",
        trace=str(path),
    )
    simulation = run(one_skill(), plan)
    urgency = {o.customer: o.urgency for o in simulation.contacts.values()}
    assert urgency["c1"] >= 0.6 and urgency["c2"] == pytest.approx(0.9) and urgency["c3"] < 0.3
    assert all(o.answered_at is not None for o in simulation.contacts.values())


def test_a_bad_trace_row_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("arrival,channel\n10,voice\n20,fax\n")
    (tmp_path / "p.yaml").write_text("duration: 1h\ntrace: t.csv\nagents: [{count: 1}]\n")
    with pytest.raises(ConfigError, match=r"t\.csv:3"):
        load_scenario(str(tmp_path / "p.yaml"))
