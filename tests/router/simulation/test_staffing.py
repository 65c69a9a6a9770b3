"""Planning: the fewest agents for a service level, against Erlang C and Erlang A."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from router.simulation.erlang import erlang_a, fewest_agents
from router.simulation.staffing import parse_target, staff
from tests.paths import REPO
from tests.simulation_helpers import one_skill, scenario

ONE_QUEUE = """
duration: 60h
seed: 3
arrivals: [{channel: voice, per_hour: 120}]
handle_time: {voice: 4m}
agents: [{count: 15, skills: {support: 1}}]
"""


@pytest.mark.parametrize(
    ("patience", "target"),
    [(None, 0.85), (120.0, 0.86)],
    ids=["erlang-c", "erlang-a"],
)
def test_fewest_agents_agrees_with_erlang(patience: float | None, target: float) -> None:
    changes: dict[str, object] = {"patience": {"voice": patience}} if patience else {}
    plan = scenario(ONE_QUEUE, **changes)
    expected = fewest_agents(120 / 3600, 240, patience or 0.0, 20, target)
    # the formula's answer is clear of the target on both sides (no coin toss)
    below = erlang_a(120 / 3600, 240, patience or 0.0, expected - 1, 20).service_level
    at = erlang_a(120 / 3600, 240, patience or 0.0, expected, 20).service_level
    assert below < target - 0.03 and at > target + 0.02
    result = staff(one_skill(), plan, target)
    assert result.met
    assert result.counts == {"agent0": expected}
    assert result.achieved["voice"] >= target


def test_targets_parse() -> None:
    assert parse_target("SL") is None and parse_target("sla") is None
    assert parse_target("0.8") == 0.8 and parse_target("90%") == 0.9
    with pytest.raises(ValueError):
        parse_target("1.5")


def test_cli_staff_for(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text(ONE_QUEUE.replace("60h", "10h"))
    rules = REPO / "tests" / "data" / "erlang_config.yaml"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.server.cli",
            "simulate",
            str(tmp_path / "plan.yaml"),
            "--config",
            str(rules),
            "--staff-for",
            "SL",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "needed" in done.stdout and "targets met" in done.stdout
    assert "voice: service level" in done.stdout
