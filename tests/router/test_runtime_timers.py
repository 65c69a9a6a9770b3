"""The runtime runs the engine's timers when they fall due: a deadline set or moved by an
engine call, and one the loop's timer reaches before the router's clock does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from router.decisions import Decisions
from router.engine import Engine
from router.rules.loader import parse_rules
from router.runtime import RouterRuntime
from router.store.repository import Store
from tests.engine_helpers import CONFIG

WAIT = 10.0  # s: a condition's limit on a busy machine, never a timing window


class Alarm(Engine):
    """An engine whose only timer is ``due``; ``advance`` notes when it fired."""

    due: float | None = None
    fired: list[float]
    asked = 0  # times the runtime asked for the next deadline

    def next_deadline(self) -> float | None:
        self.asked += 1
        return self.due

    def advance(self, now: float) -> Decisions:
        self.fired.append(now)
        self.due = None
        return Decisions()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def runtime(store: Store) -> AsyncIterator[RouterRuntime]:
    engine = Alarm(parse_rules(CONFIG, "test-config.yaml").config)
    engine.fired = []
    started = RouterRuntime(engine, store, clock=Clock(1_000.0))
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


def alarm(runtime: RouterRuntime) -> Alarm:
    assert isinstance(runtime.engine, Alarm)
    return runtime.engine


async def fired(runtime: RouterRuntime) -> list[float]:
    engine = alarm(runtime)
    async with asyncio.timeout(WAIT):
        while not engine.fired:
            await asyncio.sleep(0.01)
    return engine.fired


async def asked(runtime: RouterRuntime, times: int) -> None:
    async with asyncio.timeout(WAIT):
        while alarm(runtime).asked < times:
            await asyncio.sleep(0.01)


def nothing(_now: float) -> Decisions:
    return Decisions()


async def test_a_deadline_an_engine_call_sets_fires(runtime: RouterRuntime) -> None:
    clock = runtime.clock
    alarm(runtime).due = clock() - 1  # due already
    runtime.submit(nothing)
    assert await fired(runtime) == [clock()]


async def test_a_deadline_moved_earlier_fires_at_the_earlier_time(runtime: RouterRuntime) -> None:
    assert isinstance(runtime.clock, Clock)
    alarm(runtime).due = runtime.clock() + 3_600  # the loop's timer set an hour ahead
    runtime.submit(nothing)
    await asyncio.sleep(0)
    alarm(runtime).due = runtime.clock() + 0.01
    runtime.submit(nothing)  # moved: set again, or this would wait the hour
    runtime.clock.now += 0.01
    assert await fired(runtime) == [runtime.clock()]


async def test_a_timer_that_fires_before_the_clock_reaches_the_deadline_is_set_again(
    runtime: RouterRuntime,
) -> None:
    clock = runtime.clock
    assert isinstance(clock, Clock)
    await asked(runtime, 1)  # (started)
    alarm(runtime).due = clock() + 0.01
    runtime.submit(nothing)
    await asked(runtime, 3)  # after the engine call, then when the loop's timer fired
    assert alarm(runtime).fired == []  # the router's clock has not moved
    clock.now += 0.01
    assert await fired(runtime) == [clock()]
