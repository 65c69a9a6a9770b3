"""Waiting for a future that someone else settles, without taking part in its outcome.

``asyncio.wait([future])`` does this (cancelling the waiter does not cancel the future, and
the future's error is not raised), but for one future it pays for the general case: a set
of tasks, a closure counting completions, a timeout's bookkeeping and two sets built for
the answer. The router waits like this a few times for every contact (a decision's
commit before its ack, the journal's commit thread): ``settled`` is the one-future case.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def settled(future: asyncio.Future[Any]) -> None:
    """Return once ``future`` is done (a result, an error or cancelled), raising nothing
    of its own. Cancelling the caller cancels only the wait."""
    if future.done():
        return
    waiter: asyncio.Future[None] = future.get_loop().create_future()

    def wake(_done: asyncio.Future[Any]) -> None:
        if not waiter.done():
            waiter.set_result(None)

    future.add_done_callback(wake)
    try:
        await waiter
    finally:
        future.remove_done_callback(wake)
