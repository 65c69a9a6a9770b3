"""Garbage collection for a long-running router process.

With 2,000 agents and 10,000 live contacts the heap holds millions of objects, and
CPython's full collections (generation 2) went through all of them several times a
minute: 290–390 ms pauses of the routing loop, the p99 of ingest-to-offer
(bench/offer_latency.py: p99 294 ms with the defaults, 57 ms with thresholds of 50,000,
20 and 100 on the faster VM of the morning; the collector's pauses were measured with
``gc.callbacks``). So ``centralino serve``:

- collects the young generation after 7,500 allocations instead of 700 (fewer objects
  promoted, so far fewer full collections; 10,000 until the desktops' replay buffers
  stopped allocating a tuple an event, see below);
- collects the middle generation after 10 young collections (as CPython does): with
  50,000 and 20, the middle generation grew to about a million objects and one collection
  of it stopped the loop for 527 ms; with 10,000 and 10 the server's p99 from arrival to
  offer went from 166 to 82 ms (2,000 agents, 80 contacts/s, SQLite, second session of
  2026-12-02, pauses measured with ``gc.callbacks``);
- considers a full collection after 100 middle-generation ones instead of 10;
- freezes what exists once the server has started (rules, the urgency model, lexicons,
  the roster): full collections no longer walk them.

Cyclic garbage is still collected; only less often. Tests and the simulator keep
CPython's defaults.

Tried on 2026-12-04 (PostgreSQL, 2,000 agents, bench/offer_latency.py at 80 contacts/s,
three alternating pairs, each collection timed with ``gc.callbacks``, now
``centralino_gc_pause_seconds``): a young threshold of 2,000 with 50 for the middle
generation (meant to keep the middle collections as often) made young pauses short (p99
4–6 ms against 21–32 ms) but 6.5 times as many, 17% more time collecting in all and 15–16
middle collections (40–110 ms each) a bench run against 10–11; the server's p99 from
arrival to offer was worse (28.1–202.6 ms against 17.8–23.1 ms). With 10,000, the 132 s
at 80/s hold 17–20 young collections (220–370 ms in all) and one or two middle ones
(77–170 ms): the collector stops the loop about 0.4% of that time, a part of the tail above
the p99, not all of it.

The threshold counts allocations less deallocations, so cheap objects count as much as
costly ones: a young collection's pause is the live young objects it walks when the count
is reached (25,000–40,000 in the offer-latency bench, 10–35 ms, as much CPU as wall time).
When the replay buffers stopped allocating a tuple an event (api/desktop/replay.py), the
count was reached less often, with more of the costly objects by then: 7–10 young
collections a run instead of 11–13, of 23–25 ms each instead of 17–26 (PostgreSQL, 2,000
agents, bench/offer_latency.py, fifteenth session). At 7,500 there are 10–14, of 18–24 ms; at
a shift start a third more young collections (108 against 78–80 at a fixed 700/s), with
no cost to it shown: p99 of the 202 49.7 and 45.5 ms against 57.6 and 78.2 ms at 10,000
(two pairs, sixteenth session, docs/hot-path-history.md).
Tried and dropped in that session: freezing what survives each young collection
(docs/hot-path-history.md): frozen objects that die still count against the threshold,
and the cyclic garbage of every closed connection would never be collected.
"""

from __future__ import annotations

import gc

THRESHOLDS = (7_500, 10, 100)


def tune_for_serving() -> None:
    gc.set_threshold(*THRESHOLDS)


def freeze_startup() -> None:
    """After start-up: what exists now lives as long as the process."""
    gc.collect()
    gc.freeze()
