"""The server's own figures from GET /metrics, read before and after a run.

/metrics has these histograms on the hot path: the time of one engine call
(``centralino_routing_latency_seconds``), of one group commit of the journal and the units
per commit, by lane (``centralino_journal_commit_seconds``,
``centralino_journal_batch_units``), how late the event loop ran a wake-up due every
0.1 s (``centralino_event_loop_lag_seconds``: tens of ms, a loop with more work than
time), a POST /v1/contacts from reaching the app to its answer, by status
(``centralino_intake_seconds``: the server's part of wrk's latency), a contact's arrival
to an offer of it (``centralino_offer_sent_seconds``) and how long each garbage
collection stopped the process, by generation (``centralino_gc_pause_seconds``); besides,
the time from a desktop's message to its ack, by action (``centralino_desktop_ack_seconds``).
A histogram with labels prints a line per label set. A quantile of a histogram is given as
the upper bound of the bucket it falls in ("≤ 5 ms"): that is all it says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]
HISTOGRAMS = {
    "centralino_routing_latency_seconds": ("engine call", 1000.0, "ms"),
    "centralino_journal_commit_seconds": ("journal group commit", 1000.0, "ms"),
    "centralino_journal_batch_units": ("units per commit", 1.0, ""),
    "centralino_event_loop_lag_seconds": ("event-loop lag", 1000.0, "ms"),
    "centralino_intake_seconds": ("POST /v1/contacts answered", 1000.0, "ms"),
    "centralino_offer_sent_seconds": ("arrival to offer sent", 1000.0, "ms"),
}
GC_PAUSES = "centralino_gc_pause_seconds"  # by generation: the collector's pauses
ACKS = "centralino_desktop_ack_seconds"  # by action: a desktop's message to its ack


def scrape(url: str) -> Samples:
    """Every sample of the server's /metrics, by name and labels."""
    reply = httpx.get(url + "/metrics", timeout=30)
    reply.raise_for_status()
    text = reply.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of this name whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, lbl), v in samples.items() if n == name and wanted <= set(lbl))


@dataclass
class Histogram:
    buckets: list[tuple[float, float]]  # (upper bound, cumulative count), ascending
    sum: float
    count: float

    def quantile(self, share: float) -> float:
        """Upper bound of the bucket holding this quantile (inf past the last bound)."""
        for bound, cumulative in self.buckets:
            if cumulative >= share * self.count:
                return bound
        return math.inf

    def largest(self) -> float:
        """Upper bound of the bucket holding the largest observation."""
        return self.quantile(1.0)


def histogram(
    before: Samples, after: Samples, name: str, labels: tuple[tuple[str, str], ...] = ()
) -> Histogram:
    """The observations made between the two scrapes (of the series with these labels)."""

    def delta(sample: str, labels: tuple[tuple[str, str], ...] = labels) -> float:
        key = (name + sample, labels)
        return after.get(key, 0.0) - before.get(key, 0.0)

    keys = [
        lbl
        for (n, lbl) in after
        if n == name + "_bucket" and tuple(kv for kv in lbl if kv[0] != "le") == labels
    ]
    buckets = sorted((float(dict(lbl)["le"]), delta("_bucket", lbl)) for lbl in keys)
    return Histogram(buckets, delta("_sum"), delta("_count"))


def report(before: Samples, after: Samples, indent: str = "  ") -> list[str]:
    """One line per hot-path histogram: count, mean, p50, p99 and max (bucket bounds)."""
    lines = []
    for name, (label, scale, unit) in HISTOGRAMS.items():
        observed = False
        for labels in label_sets(after, name):
            h = histogram(before, after, name, labels)
            if not h.count:
                continue
            observed = True
            which = "".join(f", {key} {value}" for key, value in labels)
            lines.append(
                f"{indent}server {label}{which} ({name}): {h.count:,.0f} observed, "
                f"mean {fmt(h.sum / h.count, scale, unit)}, p50 ≤ "
                f"{fmt(h.quantile(0.5), scale, unit)}, p99 ≤ {fmt(h.quantile(0.99), scale, unit)}, "
                f"max ≤ {fmt(h.largest(), scale, unit)}"
            )
        if not observed:
            lines.append(f"{indent}server {label}: no observations")
    pauses = [
        (generation, histogram(before, after, GC_PAUSES, (("generation", generation),)))
        for generation in ("0", "1", "2")
    ]
    collections = "; ".join(
        f"generation {generation} {h.count:,.0f}, {h.sum * 1000:,.0f} ms in all, "
        f"p99 ≤ {fmt(h.quantile(0.99), 1000.0, 'ms')}"
        for generation, h in pauses
        if h.count
    )
    lines.append(f"{indent}server garbage collections ({GC_PAUSES}): {collections or 'none'}")
    acks = "; ".join(
        f"{dict(labels)['action']} {h.count:,.0f}, mean {h.sum / h.count * 1000:.1f} ms, "
        f"p50 ≤ {fmt(h.quantile(0.5), 1000.0, 'ms')}, p99 ≤ {fmt(h.quantile(0.99), 1000.0, 'ms')}"
        for labels in label_sets(after, ACKS)
        if (h := histogram(before, after, ACKS, labels)).count
    )
    lines.append(f"{indent}server desktop acks ({ACKS}): {acks or 'none'}")
    return lines


def label_sets(samples: Samples, name: str) -> list[tuple[tuple[str, str], ...]]:
    """The label sets of a histogram's series (``()`` for one without labels)."""
    return sorted({labels for (n, labels) in samples if n == name + "_count"})


def fmt(value: float, scale: float, unit: str) -> str:
    """A figure in its unit (a bucket bound past the last one is inf)."""
    return "inf" if math.isinf(value) else f"{value * scale:g}{unit and ' ' + unit}"
