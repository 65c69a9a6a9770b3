"""SQLite's async connections run their calls on the event loop's thread
(router/store/sqlite_inline.py): no hand-off to a thread per call, on a file and in memory,
and the connection still works as SQLAlchemy's async engine expects."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import insert, select, text

from router.store.repository import Store
from router.store.schema import CustomerRow

CUSTOMERS = CustomerRow.__table__


@pytest.mark.parametrize("where", ["file", "memory"])
async def test_a_query_runs_on_the_loops_thread(where: str, tmp_path: Path) -> None:
    url = "sqlite+aiosqlite://" if where == "memory" else f"sqlite+aiosqlite:///{tmp_path}/i.db"
    store = await Store.open(url)
    try:
        threads: list[int] = []
        async with store.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.create_function(  # type: ignore[union-attr]
                "thread_of_call", 0, lambda: threads.append(threading.get_ident()) or 1
            )
            assert (await connection.execute(text("SELECT thread_of_call()"))).scalar() == 1
        assert threads == [threading.get_ident()]
    finally:
        await store.close()


async def test_reads_and_writes_through_the_engine_work_as_before(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/rw.db")
    try:
        async with store.engine.begin() as connection:
            await connection.execute(insert(CUSTOMERS).values(id="c1", name="Ada", created_at=1.0))
        async with store.engine.begin() as connection:
            await connection.execute(insert(CUSTOMERS).values(id="c2", name="Bo", created_at=2.0))
            await connection.rollback()
        async with store.engine.connect() as connection:
            rows = (await connection.execute(select(CUSTOMERS.c.id, CUSTOMERS.c.name))).all()
        assert [tuple(row) for row in rows] == [("c1", "Ada")]
        assert await store.commit(lambda c: c.execute(select(CUSTOMERS.c.id)).scalars().all()) == [
            "c1"
        ]
    finally:
        await store.close()
