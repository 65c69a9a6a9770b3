"""The stall watch: a loop held longer than the threshold is reported once, with where it was
held and for how long; a loop that keeps turning is not reported."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from api.base.settings import Settings
from api.ops.loop_stalls import Stall, StallWatch, frames_of
from tests.live import ThreadServer


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"stall_log_ms": 50}


def hold_the_loop(seconds: float) -> None:
    """Work that holds the loop: a blocking call, as a slow driver or a long loop would."""
    time.sleep(seconds)


def hold_it_again(seconds: float) -> None:
    time.sleep(seconds)


def held_in(stalls: list[Stall], function: str) -> list[Stall]:
    """The stalls whose most frequent stack is inside ``function`` (others may come from a
    busy machine: a collection, a starved CPU)."""
    return [s for s in stalls if s.stacks and f"test_loop_stalls.py:{function}:" in s.stacks[0][0]]


async def reported(stalls: list[Stall], function: str) -> None:
    while not held_in(stalls, function):
        await asyncio.sleep(0.01)


async def test_a_held_loop_is_reported_once_with_where_it_was_held() -> None:
    stalls: list[Stall] = []
    watch = StallWatch(0.05, stalls.append)
    watch.start()
    try:
        before = time.time()
        hold_the_loop(0.5)
        await asyncio.wait_for(reported(stalls, "hold_the_loop"), 60)  # the bound: no hang
        hold_it_again(0.3)  # reported after the first one's report, if any second came
        await asyncio.wait_for(reported(stalls, "hold_it_again"), 60)
    finally:
        watch.stop()
    (stall,) = held_in(stalls, "hold_the_loop")
    # its mark was armed before ``before``, due at most one interval (0.0125 s) after it, and
    # came after the 0.5 s hold: late by at least 0.48 s however busy the machine (a busier
    # one only makes it later)
    assert stall.held >= 0.48
    assert stall.began <= before + 0.0125
    assert stall.stacks[0][0].startswith("ops/test_loop_stalls.py:hold_the_loop:")
    assert "hold_the_loop" in stall.describe()


async def test_a_loop_that_keeps_turning_is_not_reported() -> None:
    stalls: list[Stall] = []
    watch = StallWatch(1.0, stalls.append)
    watch.start()
    try:
        for _ in range(300):  # 3 s held in all, 10 ms at a time: three thresholds
            hold_the_loop(0.01)
            await asyncio.sleep(0)
    finally:
        watch.stop()
    assert held_in(stalls, "hold_the_loop") == []


async def test_a_stall_that_the_stop_ends_is_reported() -> None:
    stalls: list[Stall] = []
    watch = StallWatch(0.05, stalls.append)
    watch.start()
    hold_the_loop(0.3)
    watch.stop()  # the mark that would have ended the stall never runs
    assert any(s.held >= 0.28 for s in stalls)


async def test_a_failing_report_does_not_stop_the_watch(caplog: pytest.LogCaptureFixture) -> None:
    stalls: list[Stall] = []

    def report(stall: Stall) -> None:
        stalls.append(stall)
        if len(stalls) == 1:
            raise RuntimeError("the log is gone")

    watch = StallWatch(0.05, report)
    watch.start()
    try:
        with caplog.at_level(logging.ERROR, logger="centralino.loop"):
            hold_the_loop(0.3)
            await asyncio.wait_for(reported(stalls, "hold_the_loop"), 60)
            hold_it_again(0.3)
            await asyncio.wait_for(reported(stalls, "hold_it_again"), 60)
    finally:
        watch.stop()
    assert "reporting a stall failed" in caplog.text


async def test_a_watch_starts_once() -> None:
    watch = StallWatch(0.05, lambda stall: None)
    watch.start()
    try:
        with pytest.raises(RuntimeError):
            watch.start()
    finally:
        watch.stop()


def test_frames_read_innermost_first() -> None:
    def inner() -> str:
        return frames_of(sys._getframe(), depth=2)

    assert inner().startswith("ops/test_loop_stalls.py:inner:")
    assert " < ops/test_loop_stalls.py:test_frames_read_innermost_first:" in inner()


def test_the_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        StallWatch(0)


@pytest.mark.parametrize("milliseconds", [-1, 0.5, 60_001])
def test_the_setting_is_off_or_a_sane_threshold(milliseconds: float) -> None:
    with pytest.raises(ValidationError):
        Settings(stall_log_ms=milliseconds)
    assert Settings().stall_log_ms == 0


async def test_a_server_with_the_setting_logs_where_its_loop_was_held(
    server: ThreadServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    loop = server.server.servers[0].get_loop()  # the server thread's event loop

    def logged() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "centralino.loop"]

    async def held() -> None:
        while not any("hold_the_loop" in line for line in logged()):
            await asyncio.sleep(0.02)

    with caplog.at_level(logging.WARNING, logger="centralino.loop"):
        loop.call_soon_threadsafe(hold_the_loop, 0.4)
        await asyncio.wait_for(held(), 60)  # the bound only keeps a regression from hanging
    assert (await client.get("/healthz")).status_code == 200
    assert any(line.startswith("event loop held ") for line in logged())
