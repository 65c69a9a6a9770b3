"""The router's stack (api/node/stack.py) on real PostgreSQL: what it runs in the
background."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from api.base.settings import Settings
from api.node.stack import close_stack, open_stack
from router.rules.loader import parse_rules
from router.store.repository import Store
from tests.databases import database
from tests.engine_helpers import CONFIG
from tests.router.store.test_pair_lookup import fill


async def test_the_router_analyzes_grown_tables_by_itself(tmp_path: Path) -> None:
    async with database("postgresql", tmp_path) as url:
        app = FastAPI()
        settings = Settings(database_url=url, admin_token="t" * 32)
        stack = await open_stack(app, settings, parse_rules(CONFIG, "test.yaml"), smtp=False)
        try:
            async with stack.store.engine.begin() as connection:  # the router's looks alone
                await connection.execute(
                    text("ALTER TABLE contacts SET (autovacuum_enabled = false)")
                )
            await fill(stack.store, 3_000)
            assert await analyzed(stack.store, "contacts", within=60)
        finally:
            await close_stack(app, stack)


async def analyzed(store: Store, table: str, *, within: float) -> bool:
    """Whether ``table`` gets its statistics within ``within`` seconds."""
    deadline = time.monotonic() + within
    async with store.engine.connect() as connection:
        while time.monotonic() < deadline:
            last = await connection.scalar(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = :table"),
                {"table": table},
            )
            await connection.commit()
            if last is not None:
                return True
            await asyncio.sleep(0.1)
    return False
