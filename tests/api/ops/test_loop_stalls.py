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

from api.ops.loop_stalls import Stall, StallWatch, frames_of
from tests.live import ThreadServer


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"stall_log_ms": 50}


def hold_the_loop(seconds: float) -> None:
    """Work that holds the loop: a blocking call, as a slow driver or a long loop would."""
    time.sleep(seconds)


async def reported(stalls: list[Stall], count: int) -> None:
    while len(stalls) < count:
        await asyncio.sleep(0.01)


async def test_a_held_loop_is_reported_once_with_where_it_was_held() -> None:
    stalls: list[Stall] = []
    watch = StallWatch(0.05, stalls.append)
    watch.start()
    try:
        await asyncio.sleep(0.2)  # turning: nothing to report
        before = time.time()
        hold_the_loop(0.5)
        await asyncio.wait_for(reported(stalls, 1), 60)  # the bound only stops a hang
        await asyncio.sleep(0.2)  # turning again: no second report
    finally:
        watch.stop()
    (stall,) = stalls
    # held 0.5 s, the turn due at most 0.0125 s in: late by at least 0.48 s however busy the
    # machine (a busier one makes it later), and it began before the call returned
    assert stall.held >= 0.48
    assert stall.began <= before + 0.0125
    frames, _count = stall.stacks[0]  # the most frequent: inside the call, innermost first
    assert frames.startswith("ops/test_loop_stalls.py:hold_the_loop:")
    assert "hold_the_loop" in stall.describe()


async def test_a_loop_that_keeps_turning_is_not_reported() -> None:
    stalls: list[Stall] = []
    watch = StallWatch(5.0, stalls.append)  # a threshold far above any turn here
    watch.start()
    try:
        for _ in range(20):
            hold_the_loop(0.01)
            await asyncio.sleep(0)
    finally:
        watch.stop()
    assert stalls == []


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
            await asyncio.wait_for(reported(stalls, 1), 60)
            hold_the_loop(0.3)
            await asyncio.wait_for(reported(stalls, 2), 60)
    finally:
        watch.stop()
    assert "reporting a stall failed" in caplog.text


def test_frames_read_innermost_first() -> None:
    def inner() -> str:
        return frames_of(sys._getframe(), depth=2)

    assert inner().startswith("ops/test_loop_stalls.py:inner:")
    assert " < ops/test_loop_stalls.py:test_frames_read_innermost_first:" in inner()


def test_the_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        StallWatch(0)


async def test_a_server_with_the_setting_logs_where_its_loop_was_held(
    server: ThreadServer, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    loop = server.server.servers[0].get_loop()  # the server thread's event loop
    with caplog.at_level(logging.WARNING, logger="centralino.loop"):
        loop.call_soon_threadsafe(hold_the_loop, 0.4)
        while "event loop held" not in caplog.text:
            await asyncio.sleep(0.02)
    assert (await client.get("/healthz")).status_code == 200
    line = next(r.getMessage() for r in caplog.records if r.name == "centralino.loop")
    assert "hold_the_loop" in line
