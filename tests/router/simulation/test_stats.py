"""Replication statistics: intervals over seeds, paired differences, warm-up defaults."""

from __future__ import annotations

import math

import pytest

from router.simulation.stats import interval, paired, ratios, t_quantile
from tests.simulation_helpers import scenario


def test_student_t_interval() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    result = interval(values)
    assert result.mean == 3.0 and result.n == 5
    assert result.half_width == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5))
    assert result.one_sided_low() == pytest.approx(3.0 - 2.132 * math.sqrt(2.5 / 5))
    assert t_quantile(100) == 1.960 and t_quantile(100, one_sided=True) == 1.645
    assert interval([]).n == 0 and math.isinf(interval([1.0]).half_width)


def test_pairing_removes_the_noise_both_runs_share() -> None:
    fifo = [60.0, 70.0, 55.0, 65.0]  # seeds differ a lot...
    ours = [61.0, 71.2, 55.9, 66.1]  # ...but ours is about 1 point better on each
    assert interval(fifo).half_width > 5
    difference = paired(fifo, ours)
    assert difference.mean == pytest.approx(1.05) and difference.half_width < 0.3
    assert ratios([10.0, 0.0, 20.0], [5.0, 3.0, 8.0]).n == 2  # a zero baseline is left out


def test_warm_up_is_discarded_in_steady_runs_only() -> None:
    steady = "duration: 20h\narrivals: [{channel: voice, per_hour: 5}]\nagents: [{count: 1}]\n"
    assert scenario(steady).warm_up_seconds == 3600  # 10%, at most an hour
    assert scenario(steady, duration=5 * 3600.0).warm_up_seconds == 1800
    assert scenario(steady, warm_up=0).warm_up_seconds == 0
    day = steady.replace("per_hour: 5", "profile: {per_hour: [5, 9]}")
    assert scenario(day).warm_up_seconds == 0
