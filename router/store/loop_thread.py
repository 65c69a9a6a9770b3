"""An event loop of its own in a thread, for the journal's PostgreSQL connection.

Run on the main event loop, a batch of N statements needs the main loop N times: each
statement's reply waits for the loop to come round to the journal again, and a busy main
loop (2,000 desktops logging in at a shift start) comes round every few tens of
milliseconds. A batch of a hundred statements then holds its transaction open for seconds
while every 202 and every ack waits for it. On a loop of its own, a statement waits only for
its reply (and for the thread's turn at the interpreter), whatever the main loop is doing.

Whatever the coroutines run here touch must belong to this loop: the journal's engine is
used only here, and disposed here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Future[T]:
        """Run ``coroutine`` on this thread's loop; await the result on the caller's loop."""
        if self._loop is None:
            coroutine.close()
            raise RuntimeError(f"{self._name} is not running")
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def stop(self) -> None:
        """Stop the loop once what runs on it now is done, and wait for the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        await asyncio.to_thread(thread.join)
        self._loop = None
        self._thread = None
