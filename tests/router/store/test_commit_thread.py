"""The SQLite journal's commit thread (router/store/commit_thread.py): calls run in one
thread of their own, in order, and what they return or raise reaches the loop's future."""

from __future__ import annotations

import asyncio
import threading

import pytest

from router.store.commit_thread import CommitThread


async def test_calls_run_in_order_in_one_other_thread_and_their_results_come_back() -> None:
    commits = CommitThread("centralino-journal-test")
    names_before = {thread.name for thread in threading.enumerate()}
    assert "centralino-journal-test" not in names_before  # started with the first call
    ran: list[tuple[int, str]] = []

    def call(n: int) -> int:
        ran.append((n, threading.current_thread().name))
        return n * 10

    try:
        results = await asyncio.gather(*(commits.run(lambda n=n: call(n)) for n in range(20)))
    finally:
        commits.stop()
    assert results == [n * 10 for n in range(20)]
    assert [n for n, _name in ran] == list(range(20))
    assert {name for _n, name in ran} == {"centralino-journal-test"}
    assert "centralino-journal-test" not in {thread.name for thread in threading.enumerate()}


async def test_what_a_call_raises_is_raised_to_its_waiter_and_the_thread_goes_on() -> None:
    commits = CommitThread("centralino-journal-test")

    def fails() -> None:
        raise OSError("disk I/O error")

    try:
        with pytest.raises(OSError, match="disk I/O error"):
            await commits.run(fails)
        assert await commits.run(lambda: "next") == "next"
    finally:
        commits.stop()


async def test_a_waiter_cancelled_meanwhile_does_not_stop_the_call_or_the_thread() -> None:
    """The journal shields its commit and waits for it anyway: the call still runs to its
    end, and the thread takes the next one."""
    commits = CommitThread("centralino-journal-test")
    release = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        release.wait(timeout=30)
        finished.set()

    try:
        waiter = asyncio.ensure_future(commits.run(slow))
        await asyncio.sleep(0)
        waiter.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert await commits.run(lambda: 1) == 1  # after ``slow``, in order
        assert finished.is_set()
    finally:
        commits.stop()


async def test_no_call_is_taken_once_stopped() -> None:
    commits = CommitThread("centralino-journal-test")
    assert await commits.run(lambda: 1) == 1
    commits.stop()
    commits.stop()  # twice: nothing more to do
    with pytest.raises(RuntimeError, match="stopped"):
        commits.run(lambda: 2)
