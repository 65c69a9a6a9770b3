"""The garbage collector's pauses: each collection observed with its generation."""

from __future__ import annotations

import gc

import httpx

from api.ops.gc_pauses import GcPauses
from tests.api.ops.test_metrics import samples
from tests.live import ThreadServer


def test_each_collection_is_observed_with_its_generation_while_installed() -> None:
    seen: list[tuple[int, float]] = []
    pauses = GcPauses(lambda generation, seconds: seen.append((generation, seconds)))
    pauses.install()
    pauses.install()  # once is once
    try:
        gc.collect(0)
        gc.collect(1)
        gc.collect(2)
    finally:
        pauses.remove()
    # a collection the interpreter started by itself may be observed in between
    assert [generation for generation, _ in seen][-3:] == [0, 1, 2]
    assert all(seconds >= 0 for _, seconds in seen)
    count = len(seen)
    gc.collect()
    assert len(seen) == count
    pauses.remove()  # removing twice is harmless


async def test_metrics_show_the_collections_pauses_by_generation(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    full = ("centralino_gc_pause_seconds_count", (("generation", "2"),))
    young = ("centralino_gc_pause_seconds_count", (("generation", "0"),))
    before = samples((await client.get("/metrics")).text)
    gc.collect(2)  # the server runs in this process: its callback sees this collection
    gc.collect(0)
    after = samples((await client.get("/metrics")).text)
    assert after[full] >= before.get(full, 0) + 1
    assert after[young] >= before.get(young, 0) + 1
    assert after[("centralino_gc_pause_seconds_sum", (("generation", "2"),))] > 0
