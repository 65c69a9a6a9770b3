"""The loop's histograms and counters write what prometheus_client's write."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from api.ops.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (0.0001, 0.00025, 0.001, 0.1, 1, 2, 5, 10, 500)
VALUES = (0.00005, 0.0001, 0.0003, 0.1, 5, 0.0025, 1e9, 0.0)


def exposition(registry: CollectorRegistry) -> list[str]:
    # prometheus_client adds a _created sample a series; the loop's histograms have none
    lines = generate_latest(registry).decode().splitlines()
    return [line for line in lines if "_created" not in line]


@pytest.mark.parametrize("labelnames", [(), ("lane",)])
def test_the_text_is_prometheus_clients(labelnames: tuple[str, ...]) -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("x_seconds", "what x took", labelnames, buckets=BUCKETS, registry=theirs)
    loop = LoopHistogram("x_seconds", "what x took", labelnames, buckets=BUCKETS, registry=ours)
    for value in VALUES:
        if labelnames:
            reference.labels("intake").observe(value)
            loop.labels("intake").observe(value)
            reference.labels("decisions").observe(value * 2)
            loop.labels("decisions").observe(value * 2)
        else:
            reference.observe(value)
            loop.observe(value)
    assert exposition(ours) == exposition(theirs)
    lane = 'lane="intake",' if labelnames else ""
    assert f'x_seconds_bucket{{{lane}le="+Inf"}} 8.0' in exposition(ours)


def test_a_value_on_a_bound_counts_in_that_bucket() -> None:
    histogram = LoopHistogram("y", "y", buckets=(1, 2))
    child = histogram.labels()
    for value in (1.0, 2.0, 2.5):
        child.observe(value)
    assert child.counts == [1, 1, 1]
    assert child.sum == 5.5


def test_labels_must_match_the_names() -> None:
    histogram = LoopHistogram("z", "z", ("lane",), buckets=(1,))
    with pytest.raises(ValueError, match="takes labels"):
        histogram.labels()
    with pytest.raises(ValueError, match="has labels"):
        histogram.observe(1.0)


def test_a_counter_writes_what_prometheus_clients_writes() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    reference = Counter("centralino_x", "x counted", ["queue", "channel"], registry=theirs)
    loop = LoopCounter("centralino_x", "x counted", ["queue", "channel"], registry=ours)
    for counter in (reference, loop):
        counter.labels("support", "chat").inc()
        counter.labels("support", "chat").inc(2.5)
        counter.labels("billing", "voice").inc()
    assert exposition(ours) == exposition(theirs)
    assert 'centralino_x_total{channel="chat",queue="support"} 3.5' in exposition(ours)
    with pytest.raises(ValueError, match="only goes up"):
        loop.labels("support", "chat").inc(-1)
