"""Garbage collection for a long-running router process.

With 2,000 agents and 10,000 live contacts the heap holds millions of objects, and
CPython's full collections (generation 2) went through all of them several times a
minute: 290–390 ms pauses of the routing loop, the p99 of ingest-to-offer
(bench/offer_latency.py: p99 294 ms with the defaults, 57 ms with these settings; the
collector's pauses were measured with ``gc.callbacks``). So ``centralino serve``:

- collects the young generation after 50,000 allocations instead of 700 (fewer objects
  promoted, so far fewer full collections; a young collection took 30–60 ms);
- considers a full collection after 100 middle-generation ones instead of 10;
- freezes what exists once the server has started (rules, the urgency model, lexicons,
  the roster): full collections no longer walk them.

Cyclic garbage is still collected; only less often. Tests and the simulator keep
CPython's defaults.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 100)


def tune_for_serving() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_startup() -> None:
    """After start-up: what exists now lives as long as the process."""
    gc.collect()
    gc.freeze()
