"""The store's database engines, by URL: readers, and the journal's writer.

- SQLite: an async engine whose connections run in the caller's thread
  (router/store/sqlite_inline.py), with the store's pragmas; a file also gets a
  synchronous writer engine of one connection for the journal (router/store/sqlite.py).
- PostgreSQL: a pool of readers and a pool of the journal's two connections.

The schema is created where it is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from router.store import json_text
from router.store.schema import Base
from router.store.sqlite import sqlite_pragmas, sqlite_writer
from router.store.sqlite_inline import inline_creator

# readers: two held for good by the hot reads by key (the logins' tokens, the returning
# customers' histories: router/store/kept_reads.py), eight more for the others (ops pages,
# replies, the customer 360...); the journal has a connection of its own, so a burst
# of reads never makes the writer wait for the pool. No ping per checkout on the hot path:
# a dead connection fails its batch, which is retried.
POSTGRES_POOL = {
    "pool_size": 10,
    "max_overflow": 4,
    "pool_pre_ping": False,
    "json_serializer": json_text.dumps,
}
POSTGRES_WRITER_POOL = {**POSTGRES_POOL, "pool_size": 2, "max_overflow": 0}
"""The journal's: one connection for routing decisions and one for new contacts."""


@dataclass(frozen=True, slots=True)
class Engines:
    readers: AsyncEngine
    writer: Engine | None = None
    """SQLite file: the journal's synchronous writer."""
    async_writer: AsyncEngine | None = None
    """PostgreSQL: the journal's pool."""


async def open_engines(url: str) -> Engines:
    """The engines for ``url``, its schema created (driver errors propagate)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            json_serializer=json_text.dumps,
            async_creator=inline_creator(make_url(url)),  # no thread per call
        )
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        writer = None
        if engine.url.database not in (None, "", ":memory:"):
            writer = sqlite_writer(engine.url, json_serializer=json_text.dumps)
        engines = Engines(engine, writer=writer)
    else:
        engine = create_async_engine(url, **POSTGRES_POOL)
        engines = Engines(engine, async_writer=create_async_engine(url, **POSTGRES_WRITER_POOL))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    return engines
