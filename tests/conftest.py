from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine_helpers import CONFIG
from tests.live import ThreadServer
from tests.providers import FakeProviders, Relay
from tests.redis_server import RedisServer


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ThreadServer]:
    """A running server on a fresh SQLite file; a test module may set SERVER_CONFIG (the
    rules) and SERVER_SETTINGS (a function of nothing returning Settings fields)."""
    config = getattr(request.module, "SERVER_CONFIG", CONFIG)
    settings = getattr(request.module, "SERVER_SETTINGS", dict)()
    running = ThreadServer(tmp_path / "centralino.db", config=config, **settings).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(server: ThreadServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http


@pytest.fixture
def providers() -> Iterator[FakeProviders]:
    """Local stand-ins for Meta, X and Twilio's messages API (tests/providers.py)."""
    running = FakeProviders().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A local SMTP relay replies are sent through (tests/providers.py)."""
    running = Relay().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server process (see tests/redis_server.py)."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


# A real headless Chromium for the pages (Playwright). Chromium comes from Debian
# (/usr/bin/chromium; .ci/run installs it). Without one these tests skip, unless
# CENTRALINO_REQUIRE_BROWSER is set (as in CI), where they fail instead.
CHROMIUM = os.environ.get("CENTRALINO_CHROMIUM") or shutil.which("chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CENTRALINO_REQUIRE_BROWSER"):
            pytest.fail("no Chromium found (apt-get install chromium)")
        pytest.skip("no Chromium on this machine")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()
