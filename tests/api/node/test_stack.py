"""The router's stack (api/node/stack.py) on real PostgreSQL: what it runs in the
background."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import text

from api.base.settings import Settings
from api.node.stack import close_stack, open_stack
from router.rules.loader import parse_rules
from tests.databases import database
from tests.engine_helpers import CONFIG
from tests.receivers import eventually
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
            async with stack.store.engine.connect() as connection:

                async def contacts_analyzed() -> bool:
                    last = await connection.scalar(
                        text(
                            "SELECT last_analyze FROM pg_stat_user_tables "
                            "WHERE relname = 'contacts'"
                        )
                    )
                    await connection.commit()
                    return last is not None

                await eventually(contacts_analyzed, "the router's ANALYZE of contacts")
        finally:
            await close_stack(app, stack)
