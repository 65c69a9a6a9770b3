import asyncio

import pytest

from router.futures import settled


async def test_it_returns_once_the_future_has_a_result() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(settled(future))
    await asyncio.sleep(0)
    assert not waiting.done()
    future.set_result(1)
    await waiting
    assert future.result() == 1


async def test_an_error_or_a_cancel_of_the_future_is_not_raised() -> None:
    loop = asyncio.get_running_loop()
    failed: asyncio.Future[int] = loop.create_future()
    cancelled: asyncio.Future[int] = loop.create_future()
    waits = [asyncio.create_task(settled(failed)), asyncio.create_task(settled(cancelled))]
    await asyncio.sleep(0)
    failed.set_exception(ValueError("no"))
    cancelled.cancel()
    await asyncio.gather(*waits)
    assert isinstance(failed.exception(), ValueError)


async def test_a_done_future_needs_no_wait() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    future.set_result(2)
    await settled(future)


async def test_cancelling_the_waiter_leaves_the_future_alone() -> None:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(settled(future))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not future.done()
    future.set_result(3)  # and the waiter's callback is gone: nothing to wake
    await asyncio.sleep(0)
    assert future.result() == 3
