"""Reads gathered (router/gathered_reads.py): an ask made while nothing is in flight is
read by its asker if no other ask came in the same turn of the loop, else with them; the
asks made while a read is in flight go in the next, together; each asker gets its own
answer, or a StoreError of its own caused by the read's error; an asker that gives up
(even the one reading) does not hold the others, and a reader stopped takes its askers
with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from router.gathered_reads import GatheredReads
from router.store.errors import StoreError


class Reader:
    """Answers each ask with itself in capitals; a read yields to the loop, as a real one
    does, and waits for ``gate`` once it has been asked, so a test can hold it in flight."""

    def __init__(self) -> None:
        self.reads: list[list[str]] = []
        self.tasks: list[asyncio.Task[object] | None] = []  # the task each read ran in
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self.short = False

    async def __call__(self, asks: Sequence[str]) -> list[str]:
        self.reads.append(list(asks))
        self.tasks.append(asyncio.current_task())
        await asyncio.sleep(0)
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        answers = [ask.upper() for ask in asks]
        return answers[1:] if self.short else answers


def gathered(reader: Reader, most: int = 64) -> GatheredReads[str, str]:
    return GatheredReads(reader, "names", most)


async def until(condition: Callable[[], bool], turns: int = 100) -> None:
    """Let the loop turn until ``condition`` holds (the tasks here need a few turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def read_in_flight(ask: str) -> tuple[Reader, GatheredReads[str, str], asyncio.Task[str]]:
    """A reader held by its gate, and a read of ``ask`` in flight in it."""
    reader = Reader()
    reader.gate.clear()
    reads = gathered(reader)
    task = asyncio.create_task(reads.read(ask))
    await until(lambda: reader.reads == [[ask]])
    return reader, reads, task


async def test_an_ask_alone_is_read_by_its_asker() -> None:
    reader = Reader()
    reads = gathered(reader)
    asker = asyncio.create_task(reads.read("ada"))
    assert await asker == "ADA"
    assert reader.tasks == [asker]  # no task of the gatherer's: the asker read it
    assert await reads.read("bruno") == "BRUNO"
    assert reader.reads == [["ada"], ["bruno"]]


async def test_asks_made_while_a_read_is_in_flight_go_in_the_next_together() -> None:
    reader, reads, first = await read_in_flight("first")
    later = [asyncio.create_task(reads.read(f"later{n}")) for n in range(3)]
    await asyncio.sleep(0)
    reader.gate.set()
    assert await first == "FIRST"
    assert [await task for task in later] == ["LATER0", "LATER1", "LATER2"]
    assert reader.reads == [["first"], ["later0", "later1", "later2"]]
    assert await reads.read("again") == "AGAIN"  # nothing in flight again: alone
    assert reader.reads[-1] == ["again"]


async def test_the_asks_of_one_turn_go_in_one_read() -> None:
    reader = Reader()
    reads = gathered(reader)
    answers = await asyncio.gather(*(reads.read(f"c{n}") for n in range(5)))
    assert answers == ["C0", "C1", "C2", "C3", "C4"]
    assert reader.reads == [["c0", "c1", "c2", "c3", "c4"]]


async def test_a_read_takes_at_most_its_share_of_asks() -> None:
    reader = Reader()
    reads = gathered(reader, most=2)
    answers = await asyncio.gather(*(reads.read(f"c{n}") for n in range(5)))
    assert answers == ["C0", "C1", "C2", "C3", "C4"]
    assert reader.reads == [["c0", "c1"], ["c2", "c3"], ["c4"]]


async def test_a_failed_read_fails_its_askers_and_the_next_read_goes_on() -> None:
    reader = Reader()
    cause = OSError("the database went away")
    reader.fail = cause
    reads = gathered(reader)
    failed = await asyncio.gather(*(reads.read(f"c{n}") for n in range(3)), return_exceptions=True)
    assert all(isinstance(result, StoreError) for result in failed)
    assert [result.__cause__ for result in failed] == [cause] * 3  # type: ignore[union-attr]
    assert "could not read names: OSError" in str(failed[0])
    assert failed[1] is not failed[2]  # each asker of a read together raises its own
    reader.fail = None
    assert await reads.read("again") == "AGAIN"


async def test_a_store_error_keeps_its_message() -> None:
    reader = Reader()
    reader.fail = StoreError("could not read: InterfaceError")
    with pytest.raises(StoreError, match="could not read: InterfaceError"):
        await gathered(reader).read("ada")


async def test_an_answer_that_does_not_fit_the_asks_fails_them_all() -> None:
    reader = Reader()
    reader.short = True
    reads = gathered(reader)
    failed = await asyncio.gather(*(reads.read(f"c{n}") for n in range(3)), return_exceptions=True)
    assert all(isinstance(result, StoreError) for result in failed)
    assert reader.reads == [["c0", "c1", "c2"]]
    with pytest.raises(StoreError):  # alone, read by its asker
        await reads.read("alone")


async def test_a_reader_stopped_takes_its_askers_with_it() -> None:
    reader, reads, first = await read_in_flight("first")
    behind = [asyncio.create_task(reads.read(f"behind{n}")) for n in range(2)]
    await asyncio.sleep(0)
    reader.gate.set()
    assert await first == "FIRST"
    await until(lambda: len(reader.reads) == 2)  # the reader's read is in flight
    reader.gate.clear()
    queued = asyncio.create_task(reads.read("queued"))  # waits for the read after
    await asyncio.sleep(0)
    await reads.aclose()
    for task in [*behind, queued]:
        with pytest.raises(asyncio.CancelledError):
            await task
    reader.gate.set()
    assert await reads.read("after") == "AFTER"  # nothing in flight again
    assert reader.reads[-1] == ["after"]


async def test_a_reader_stopped_before_it_began_takes_its_askers_with_it() -> None:
    """A task cancelled before its first step never runs its coroutine's ``finally``:
    here the loop's task factory cancels the reader as it is made."""
    loop = asyncio.get_running_loop()

    def cancel_readers(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        task = asyncio.Task(coro, loop=loop, **kwargs)
        if coro.__qualname__ == "GatheredReads._read_waiting":  # (named after it is made)
            task.cancel()
        return task

    reader, reads, first = await read_in_flight("first")
    behind = asyncio.create_task(reads.read("behind"))
    await asyncio.sleep(0)
    loop.set_task_factory(cancel_readers)
    try:
        reader.gate.set()
        assert await first == "FIRST"
        with pytest.raises(asyncio.CancelledError):
            await behind
    finally:
        loop.set_task_factory(None)
    assert await reads.read("after") == "AFTER"  # not stuck waiting for a dead reader
    assert reader.reads == [["first"], ["after"]]


async def test_an_asker_that_gives_up_while_waiting_is_left_out() -> None:
    reader, reads, first = await read_in_flight("first")
    quitter = asyncio.create_task(reads.read("quitter"))
    stayer = asyncio.create_task(reads.read("stayer"))
    await asyncio.sleep(0)
    quitter.cancel()
    reader.gate.set()
    assert await first == "FIRST"
    assert await stayer == "STAYER"
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert reader.reads == [["first"], ["stayer"]]


async def test_the_asks_behind_an_asker_that_gives_up_while_reading_are_still_read() -> None:
    reader, reads, first = await read_in_flight("first")
    behind = [asyncio.create_task(reads.read(f"behind{n}")) for n in range(2)]
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    reader.gate.set()
    assert [await task for task in behind] == ["BEHIND0", "BEHIND1"]
    assert reader.reads == [["first"], ["behind0", "behind1"]]


async def test_an_asker_that_gives_up_in_its_first_turn_holds_nothing_up() -> None:
    reader = Reader()
    reads = gathered(reader)
    alone = asyncio.create_task(reads.read("alone"))
    await asyncio.sleep(0)  # waiting its turn for company
    alone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await alone
    async with asyncio.timeout(5):
        assert await reads.read("next") == "NEXT"  # not left busy
    first = asyncio.create_task(reads.read("first"))
    company = asyncio.create_task(reads.read("company"))
    await asyncio.sleep(0)
    first.cancel()
    async with asyncio.timeout(5):
        assert await company == "COMPANY"
    assert reader.reads == [["next"], ["company"]]
