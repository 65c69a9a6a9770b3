"""Histograms and counters updated on the event loop only, without a lock: the hot path's.

prometheus_client's ``Histogram.observe`` takes a lock twice (the sum, then the bucket)
and walks the bounds one by one, its ``Counter.inc`` takes one, and ``labels(...)``
checks and joins the values at every look-up. The router observes about thirteen values
a contact taken through a desktop (the engine calls, each commit's time and size, the
acks, the intake, the offer sent) and counts five (arrivals, offers, outcomes...), all
from the event loop's thread: bench/instructions.py gave 2.1% fewer instructions a
contact with these histograms. Here an observation is a binary search and two
additions, a count one addition; they become Prometheus' samples only when /metrics is
scraped (``collect``), in the text prometheus_client writes (the ``le`` labels formatted
as it formats them), without its ``_created`` samples. A scrape from another thread may
read an observation half made (its bucket counted, its sum not yet): a scrape is a
snapshot either way.

Updated elsewhere than on the loop (the collector's pauses: a collection can run in any
thread), a prometheus_client metric is still the one to use.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import cast

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

# how prometheus_client writes a bucket's bound (its ``le`` label): 0.0001, 1.0, +Inf
bound_text = cast(Callable[[float], str], floatToGoString)


class HistogramChild:
    """One label set's counts: ``counts[i]`` values at most ``bounds[i]`` (and more than
    the bound before), the last the values above every bound."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self, les: Sequence[str]) -> list[tuple[str, float]]:
        """Prometheus' buckets: (``le``, the values at most that bound), +Inf's last."""
        buckets: list[tuple[str, float]] = []
        total = 0
        for le, count in zip(les, self.counts, strict=True):
            total += count
            buckets.append((le, total))
        return buckets


class LoopHistogram(Collector):
    """A histogram with optional labels, registered like a prometheus_client metric.
    Without labels it is observed directly; with them, ``labels(...)`` gives a label
    set's ``HistogramChild`` (keep it: looking it up is the costly part)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(sorted(float(bound) for bound in buckets))
        self._les = tuple(bound_text(bound) for bound in (*self.bounds, float("inf")))
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        self._unlabelled = None if self.labelnames else self.labels()
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = HistogramChild(self.bounds)
        return child

    def observe(self, value: float) -> None:
        if self._unlabelled is None:
            raise ValueError(f"{self.name} has labels: observe a label set's child")
        self._unlabelled.observe(value)

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.cumulative(self._les), child.sum)
        yield family


class LoopCounter(Collector):
    """A counter with labels (``labels(...)`` gives a label set's ``CounterChild``),
    registered like a prometheus_client ``Counter``: exposed as ``<name>_total``."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[str, ...], CounterChild] = {}
        if registry is not None:
            registry.register(self)

    def labels(self, *values: str) -> CounterChild:
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
            child = self._children[values] = CounterChild()
        return child

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(self.name, self.documentation, labels=list(self.labelnames))
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.value)
        yield family


class CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self.value += amount
