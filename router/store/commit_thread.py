"""The SQLite journal's commit thread: one thread, handed each COMMIT more cheaply than
through ``loop.run_in_executor``.

A SQLite batch's statements run on the event loop and its COMMIT, the fsync, in this
thread (router/store/journal.py says why). At half load most batches carry one or two
units, so what the hand-off costs beside the commit counts. Through a
``ThreadPoolExecutor`` and ``run_in_executor``, a round trip of a call that does nothing
cost about 82 µs of CPU on the twenty-first session's VM: a concurrent future with its
condition and lock, the executor's idle semaphore, and the two futures chained by
callbacks. Here a ``queue.SimpleQueue`` takes the call in and ``call_soon_threadsafe``
brings the result back to the loop's own future: 38 µs. ``bench/take_batch.py --size 1
--offers`` on SQLite: docs/hot-path-history.md has the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Call = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class CommitThread:
    """One thread that runs the calls handed to it, in order, one at a time (started with
    the first)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def run(self, call: Callable[[], T]) -> asyncio.Future[T]:
        """Run ``call`` in the thread; the returned future, of the running loop, resolves
        with what it returns or raises. RuntimeError once stopped (as an executor shut
        down), or if the thread cannot start (tried again on the next call)."""
        if self._stopped:
            raise RuntimeError("the commit thread is stopped")
        if self._thread is None:
            thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
            thread.start()
            self._thread = thread
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((call, loop, future))
        return future

    def stop(self) -> None:
        """Let the thread finish what it was handed, then end it; no call is taken after."""
        self._stopped = True
        thread, self._thread = self._thread, None
        if thread is not None:
            self._calls.put(None)
            thread.join()

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            call, loop, future = item
            try:
                result = call()
            except BaseException as exc:  # told to the waiter, as an executor does
                _tell(loop, future, None, exc)
            else:
                _tell(loop, future, result, None)


def _tell(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one waits
        loop.call_soon_threadsafe(_settle, future, result, error)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # cancelled meanwhile
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
