"""Replications: mean and 95% interval over seeds, and paired differences.

Runs with common random numbers (router.simulation.draws) are paired: seed s of config A
and seed s of config B saw the same contacts, so the difference between them per seed
carries far less noise than either figure alone. Intervals use Student's t.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

# two-sided 95% (= one-sided 97.5%) and one-sided 95% quantiles of Student's t, by df
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
         2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)  # fmt: skip
_T95 = (6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812,
        1.796, 1.782, 1.771, 1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725,
        1.721, 1.717, 1.714, 1.711, 1.708, 1.706, 1.703, 1.701, 1.699, 1.697)  # fmt: skip


def t_quantile(df: int, one_sided: bool = False) -> float:
    table = _T95 if one_sided else _T975
    if df < 1:
        return math.inf
    return table[df - 1] if df <= len(table) else (1.645 if one_sided else 1.960)


@dataclass(frozen=True, slots=True)
class Interval:
    mean: float
    half_width: float  # two-sided 95%
    n: int
    sd: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def one_sided_low(self) -> float:
        """The 95% one-sided lower bound (the mean is at least this)."""
        return self.mean - t_quantile(self.n - 1, one_sided=True) * self.sd / math.sqrt(self.n)

    def one_sided_high(self) -> float:
        return self.mean + t_quantile(self.n - 1, one_sided=True) * self.sd / math.sqrt(self.n)


def interval(values: list[float]) -> Interval:
    finite = [v for v in values if math.isfinite(v)]
    n = len(finite)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan)
    mean = statistics.fmean(finite)
    if n == 1:
        return Interval(mean, math.inf, 1, math.inf)
    sd = statistics.stdev(finite)
    return Interval(mean, t_quantile(n - 1) * sd / math.sqrt(n), n, sd)


def paired(first: list[float], second: list[float]) -> Interval:
    """The interval of second − first, seed by seed."""
    return interval([b - a for a, b in zip(first, second, strict=True)])


def ratios(first: list[float], second: list[float]) -> Interval:
    """The interval of second ÷ first, seed by seed (seeds where first is 0 are left out)."""
    return interval([b / a for a, b in zip(first, second, strict=True) if a > 0])
