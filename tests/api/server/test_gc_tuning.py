"""Garbage collection on the event loop's timer (api/server/gc_tuning.py): while it runs,
nothing is collected by allocations; young collections come on the timer, a middle one
every ``MIDDLE_EVERY`` of them; cyclic garbage is still freed; cancelled, automatic
collection is back."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from api.server import gc_tuning


@pytest.fixture
def collections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The generation of each collection from here on, and the collector as it was."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    monkeypatch.setattr(gc_tuning, "YOUNG_EVERY", 0.001)
    enabled = gc.isenabled()
    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)
        gc.enable() if enabled else gc.disable()


async def until(condition: Any) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.001)


async def test_young_collections_on_the_timer_and_a_middle_one_every_tenth(
    collections: list[int],
) -> None:
    timer = asyncio.create_task(gc_tuning.collect_on_a_timer())
    await until(lambda: collections.count(1) >= 2)
    assert not gc.isenabled()  # none by allocations meanwhile
    timer.cancel()
    await asyncio.gather(timer, return_exceptions=True)
    assert gc.isenabled()
    first, second = [i for i, generation in enumerate(collections) if generation == 1][:2]
    between = collections[first + 1 : second]
    assert between == [0] * gc_tuning.MIDDLE_EVERY


async def test_cyclic_garbage_is_still_freed(collections: list[int]) -> None:
    class Node:
        other: Any = None

    timer = asyncio.create_task(gc_tuning.collect_on_a_timer())
    await until(lambda: not gc.isenabled())
    one, two = Node(), Node()
    one.other, two.other = two, one  # a cycle: reference counting alone never frees it
    gone = weakref.ref(one)
    del one, two
    await until(lambda: gone() is None)
    timer.cancel()
    await asyncio.gather(timer, return_exceptions=True)


async def test_a_full_collection_every_full_every_middle_ones(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gc_tuning, "FULL_EVERY", 2)
    timer = asyncio.create_task(gc_tuning.collect_on_a_timer())
    await until(lambda: collections.count(2) >= 2)
    timer.cancel()
    await asyncio.gather(timer, return_exceptions=True)
    first, second = [i for i, generation in enumerate(collections) if generation == 2][:2]
    assert collections[first + 1 : second].count(1) == 2
