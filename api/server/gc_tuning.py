"""Garbage collection for a long-running router process.

With 2,000 agents and 10,000 live contacts the heap holds millions of objects, and
CPython's full collections (generation 2) went through all of them several times a
minute: 290–390 ms pauses of the routing loop, the p99 of ingest-to-offer
(bench/offer_latency.py: p99 294 ms with the defaults, 57 ms with thresholds of 50,000,
20 and 100 on the faster VM of the morning; the collector's pauses were measured with
``gc.callbacks``, now ``centralino_gc_pause_seconds``). So ``centralino serve``:

- freezes what exists once the server has started (rules, the urgency model, lexicons,
  the roster): no collection walks them again;
- then collects on a timer of the event loop, not by allocations
  (``collect_on_a_timer``): the young generation every ``YOUNG_EVERY`` (0.1 s), the
  middle one instead every ``MIDDLE_EVERY`` young collections (about once a second), the
  whole heap every ``FULL_EVERY`` middle ones (about every 17 minutes);
- until then (start-up, loading the state), collects by allocations with thresholds of
  7,500, 10 and 100 (``THRESHOLDS``).

Why a timer. CPython counts allocations less deallocations, and a deallocation of any
object, however old, counts against the young generation's threshold: at a steady 500
contacts/s with 2,000 desktops, the contacts of a few seconds before dying as new ones
arrive, a young collection came only every 2–3 s and walked the 30,000–75,000 objects
still alive that were made since (a census of the young generation at its collections:
tuples, lists and dicts of contacts in flight, coroutines, futures, timer handles), 9–16
ms each; the middle generation's, every 17–20 s, 20–45 ms. Each such pause holds every
request that arrives meanwhile, and a dozen of them in a minute made the p99 of
ingest-to-offer. On a timer a young collection walks what the last 0.1 s made and still
holds, 0.5–0.8 ms on average, and a middle one what a second promoted, 4–6 ms. The
collector does more work in all (PostgreSQL, 2,000 desktops, 500 contacts/s: 190–225 ms
a 22 s phase against 105–125 ms), but no pause is long; the same bench's p99 from POST
to offer, alternating (seventeenth session, five runs against three): 9.1–12.0 ms
against 12.2–14.6 ms (docs/hot-path-history.md). A burst of work that holds the loop
also holds the collector: it collects when the loop next turns, once, and cyclic garbage
waits until then.

Cyclic garbage is still collected; only on the timer. Tests and the simulator keep
CPython's defaults.

Earlier tuning, by allocation thresholds (docs/hot-path-history.md has each comparison):
a young threshold of 700 made full collections several times a minute; 50,000 with a
middle threshold of 20 grew the middle generation to a million objects (a 527 ms pause);
2,000 with 50 made young pauses short but the middle ones more frequent and longer
(40–110 ms); 10,000 and 7,500 traded the young collections' number for their length.
Freezing what survives each young collection was dropped: frozen objects that die still
count against the threshold, and the cyclic garbage of every closed connection would
never be collected.
"""

from __future__ import annotations

import asyncio
import gc

THRESHOLDS = (7_500, 10, 100)  # until the timer starts
YOUNG_EVERY = 0.1  # s
MIDDLE_EVERY = 10  # young collections
FULL_EVERY = 1_000  # middle collections


def tune_for_serving() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_startup() -> None:
    """After start-up: what exists now lives as long as the process."""
    gc.collect()
    gc.freeze()


async def collect_on_a_timer() -> None:
    """Collect on the loop's timer instead of by allocations (the module says why), until
    cancelled; automatic collection is back on after."""
    gc.disable()
    try:
        while True:
            await asyncio.sleep(YOUNG_EVERY)
            _young, young_collections, middle_collections = gc.get_count()
            if middle_collections >= FULL_EVERY:
                gc.collect(2)
            elif young_collections >= MIDDLE_EVERY:
                gc.collect(1)
            else:
                gc.collect(0)
    finally:
        gc.enable()
