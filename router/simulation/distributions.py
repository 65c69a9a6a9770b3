"""Durations drawn at random: handle times, patience, ring times, delays.

In a scenario a plain duration (``4m``) is an exponential distribution with that mean, as
before; otherwise one of::

    {dist: exponential, mean: 4m}
    {dist: lognormal, mean: 4m, sigma: 1.0}      # sigma of the log; real handle times ~1
    {dist: empirical, file: handle.csv, column: seconds}   # resampled from observed values
    {dist: fixed, value: 30s}

Every distribution draws by inversion from one uniform number, so a contact keyed draw
(router.simulation.draws) gives the same duration in every run.
"""

from __future__ import annotations

import csv
import math
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from router.durations import Duration, parse_duration

_NORMAL = NormalDist()


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Exponential(_Model):
    dist: Literal["exponential"] = "exponential"
    mean: Duration = Field(ge=0)

    def sample(self, u: float) -> float:
        return -self.mean * math.log(u) if self.mean > 0 else 0.0

    @property
    def average(self) -> float:
        return self.mean


class Lognormal(_Model):
    dist: Literal["lognormal"] = "lognormal"
    mean: Duration = Field(gt=0, description="mean of the duration itself (not of its log)")
    sigma: float = Field(1.0, gt=0, le=4, description="standard deviation of the log")

    def sample(self, u: float) -> float:
        mu = math.log(self.mean) - self.sigma**2 / 2
        return math.exp(mu + self.sigma * _NORMAL.inv_cdf(u))

    @property
    def average(self) -> float:
        return self.mean


class Fixed(_Model):
    dist: Literal["fixed"] = "fixed"
    value: Duration

    def sample(self, u: float) -> float:
        return self.value

    @property
    def average(self) -> float:
        return self.value


class Empirical(_Model):
    dist: Literal["empirical"] = "empirical"
    file: str = Field(min_length=1, description="CSV file, relative to the scenario file")
    column: str = Field("seconds", min_length=1)

    def sample(self, u: float) -> float:
        values = read_column(self.file, self.column)
        return values[min(len(values) - 1, int(u * len(values)))]

    @property
    def average(self) -> float:
        values = read_column(self.file, self.column)
        return sum(values) / len(values)


def _shorthand(value: Any) -> Any:
    """``4m`` means an exponential distribution with mean 4 minutes."""
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        return {"dist": "exponential", "mean": parse_duration(value)}
    return value


Distribution = Annotated[
    Exponential | Lognormal | Fixed | Empirical,
    Field(discriminator="dist"),
    BeforeValidator(_shorthand),
]


class DataFileError(ValueError):
    pass


@lru_cache(maxsize=64)
def read_column(path: str, column: str) -> tuple[float, ...]:
    """The sorted non-negative durations of one CSV column (seconds or 4m-style)."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror}") from exc
    if not rows or column not in rows[0]:
        raise DataFileError(f"{path}: no column {column!r}")
    values: list[float] = []
    for number, row in enumerate(rows, start=2):
        cell = (row.get(column) or "").strip()
        if not cell:
            continue
        try:
            values.append(parse_duration(cell))
        except ValueError as exc:
            raise DataFileError(f"{path}:{number}: {column}: {exc}") from exc
    if not values:
        raise DataFileError(f"{path}: column {column!r} has no values")
    values.sort()
    return tuple(values)
