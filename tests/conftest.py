from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.engine_helpers import CONFIG
from tests.live import ThreadServer
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
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server process (see tests/redis_server.py)."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()
