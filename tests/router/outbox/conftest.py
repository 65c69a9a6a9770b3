"""The store on real SQLite and real PostgreSQL, for every store test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from router.store.repository import Store
from tests.databases import database


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with database(request.param, tmp_path) as url:
        opened = await Store.open(url)
        try:
            yield opened
        finally:
            await opened.close()
