"""History reads gathered (router/history_reads.py): the asks of a turn of the event loop go
in one read, those made while it is in flight in the next; each asker gets its own
answer, or a StoreError of its own caused by the read's error; an asker that gives up
does not hold the others, and a reader stopped takes its askers with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from router.history_reads import HistoryReads
from router.store.errors import StoreError
from router.store.histories import CustomerHistory, HistoryAsk


class Reader:
    """Answers each ask with a history naming its customer; a read waits for ``gate``
    once it has been asked, so a test can hold it in flight."""

    def __init__(self) -> None:
        self.reads: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None
        self.short = False

    async def __call__(self, asks: Sequence[HistoryAsk]) -> list[CustomerHistory]:
        self.reads.append([ask.customer_id for ask in asks])
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        answers = [CustomerHistory(name=ask.customer_id) for ask in asks]
        return answers[1:] if self.short else answers


async def until(condition: Callable[[], bool], turns: int = 100) -> None:
    """Let the loop turn until ``condition`` holds (the tasks here need a few turns)."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def read_in_flight(
    customer: str,
) -> tuple[Reader, HistoryReads, asyncio.Task[CustomerHistory]]:
    """A reader held by its gate, and a read for ``customer`` in flight in it."""
    reader = Reader()
    reader.gate.clear()
    reads = HistoryReads(reader)
    task = asyncio.create_task(reads.read(HistoryAsk(customer, 0.0)))
    await until(lambda: reader.reads == [[customer]])
    return reader, reads, task


async def test_the_asks_of_one_turn_go_in_one_read() -> None:
    reader = Reader()
    reads = HistoryReads(reader)
    histories = await asyncio.gather(*(reads.read(HistoryAsk(f"c{n}", 0.0)) for n in range(5)))
    assert [history.name for history in histories] == ["c0", "c1", "c2", "c3", "c4"]
    assert reader.reads == [["c0", "c1", "c2", "c3", "c4"]]


async def test_asks_made_while_a_read_is_in_flight_go_in_the_next() -> None:
    reader, reads, first = await read_in_flight("first")
    later = [asyncio.create_task(reads.read(HistoryAsk(f"later{n}", 0.0))) for n in range(3)]
    await asyncio.sleep(0)
    reader.gate.set()
    assert (await first).name == "first"
    assert [(await task).name for task in later] == ["later0", "later1", "later2"]
    assert reader.reads == [["first"], ["later0", "later1", "later2"]]


async def test_a_read_takes_at_most_its_share_of_asks() -> None:
    reader = Reader()
    reads = HistoryReads(reader, most=2)
    histories = await asyncio.gather(*(reads.read(HistoryAsk(f"c{n}", 0.0)) for n in range(5)))
    assert [history.name for history in histories] == ["c0", "c1", "c2", "c3", "c4"]
    assert reader.reads == [["c0", "c1"], ["c2", "c3"], ["c4"]]


async def test_a_failed_read_fails_its_askers_and_the_next_read_goes_on() -> None:
    reader = Reader()
    cause = OSError("the database went away")
    reader.fail = cause
    reads = HistoryReads(reader)
    failed = await asyncio.gather(
        *(reads.read(HistoryAsk(f"c{n}", 0.0)) for n in range(2)), return_exceptions=True
    )
    assert all(isinstance(result, StoreError) for result in failed)
    assert [result.__cause__ for result in failed] == [cause, cause]  # type: ignore[union-attr]
    assert failed[0] is not failed[1]  # each asker raises its own
    reader.fail = None
    assert (await reads.read(HistoryAsk("again", 0.0))).name == "again"


async def test_an_answer_that_does_not_fit_the_asks_fails_them_all() -> None:
    reader = Reader()
    reader.short = True
    reads = HistoryReads(reader)
    failed = await asyncio.gather(
        *(reads.read(HistoryAsk(f"c{n}", 0.0)) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(result, StoreError) for result in failed)


async def test_a_reader_stopped_takes_its_askers_with_it() -> None:
    reader, reads, reading = await read_in_flight("reading")
    waiting = asyncio.create_task(reads.read(HistoryAsk("waiting", 0.0)))
    await asyncio.sleep(0)
    assert reads._reader is not None
    reads._reader.cancel()
    for task in (reading, waiting):
        with pytest.raises(asyncio.CancelledError):
            await task
    reader.gate.set()
    assert (await reads.read(HistoryAsk("after", 0.0))).name == "after"  # a new reader


async def test_an_asker_that_gives_up_is_left_out_and_the_others_answered() -> None:
    reader, reads, first = await read_in_flight("first")
    quitter = asyncio.create_task(reads.read(HistoryAsk("quitter", 0.0)))
    stayer = asyncio.create_task(reads.read(HistoryAsk("stayer", 0.0)))
    await asyncio.sleep(0)
    quitter.cancel()
    reader.gate.set()
    assert (await first).name == "first"
    assert (await stayer).name == "stayer"
    with pytest.raises(asyncio.CancelledError):
        await quitter
    assert reader.reads == [["first"], ["stayer"]]
