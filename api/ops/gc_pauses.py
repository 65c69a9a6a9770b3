"""How long the garbage collector stopped the process, as /metrics shows it.

A collection runs inside whatever allocated the object that crossed a threshold, on the
event loop as often as not, and nothing else runs meanwhile: no 202, no offer, no ack. On
a router holding 2,000 desktops and their contacts a young collection walked 10,000–40,000
objects, most of whose references point into a heap of hundreds of megabytes (a cache miss
each), and took 4–40 ms; a middle one 40–110 ms (bench/offer_latency.py on PostgreSQL,
2026-12-04, measured with these callbacks). They are part of the tail of ingest-to-offer, so
``centralino_gc_pause_seconds{generation}`` shows them beside the event loop's lag.

``gc.callbacks`` belong to the process: every collection is observed, whichever thread
(or, in tests, whichever of several apps in one process) caused it. Observing one costs a
clock read at its start and end and a histogram update.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

PAUSE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
GENERATIONS = (0, 1, 2)


class GcPauses:
    """Observes each collection's duration, by generation, while installed."""

    def __init__(self, observe: Callable[[int, float], None]) -> None:
        self._observe = observe
        self._started = 0.0

    def install(self) -> None:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def remove(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self._observe(info["generation"], time.perf_counter() - self._started)
