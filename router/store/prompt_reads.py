"""Reads outside a transaction whose connection goes back to the pool when they end.

SQLAlchemy's ``async with engine.connect()`` closes the connection in a task of its own
and waits for that task (``_run_to_completion``: a cancellation must not abandon a close
halfway), so the connection returns to the pool a turn of the event loop after the read,
and the task reading yields once more. Under load a turn is long: at max intake on
SQLite a returning customer's history read found the pool's five connections still
waiting for their closing tasks in about one read in eight, opened one of its own (on
SQLite a thread, the connection, its pragmas and a cold page cache; on PostgreSQL a new
server process), and closed it again, since the pool was full by then.

``prompt_read`` closes the connection on the spot. A read outside a transaction has
nothing to roll back: SQLite's connections here run their calls at once
(router/store/sqlite_inline.py), asyncpg sends nothing when no transaction began, so
giving the connection back to a pool that keeps it does not yield, and a cancellation
cannot interrupt it. A connection the pool does not keep (opened beyond its size, the
pool full again) is closed for good, which waits (asyncpg's goodbye to the server,
aiosqlite's thread): a cancellation there interrupts that close, the pool logs it and
the connection is dropped, where SQLAlchemy's close, in a task of its own, would finish.
Use it only on an engine whose connections begin no transaction for a read (the store's
``_autocommit``: on PostgreSQL in autocommit; SQLite's stdlib driver begins none for a
SELECT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@asynccontextmanager
async def prompt_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection from ``engine``'s pool, back in the pool as the block ends."""
    connection = await engine.connect()
    try:
        yield connection
    finally:
        await connection.close()
