"""SQLite's async connections, with their calls run where they are awaited.

SQLAlchemy's async SQLite driver (aiosqlite) hands every call (a cursor, an execute, a
fetch, a close: several per query) to a thread of the connection's own and waits for the
answer on the event loop. Each hand-off is two switches of the interpreter lock, and with
the routing loop busy each costs the loop's turn: at a shift start (bench/intake.py
--storm, 2,000 desktops logging in) a desktop's token check took seconds on SQLite and
milliseconds on PostgreSQL, whose driver answers on the loop. SQLite is a library, not a
server: a query on an indexed key is a few microseconds of CPU, which the thread did not
save, only delayed.

``inline_creator`` opens aiosqlite connections whose calls run at once on the
caller's thread (the event loop). Each one's own thread still opens and closes its sqlite3
connection, which is therefore shared between threads (``check_same_thread`` off); a
connection is used by one task at a time, as the pool hands it out.

What this costs: a query holds the loop for its own time. Hot-path reads are single rows
by key; the long reads (reports) run in a worker process (router/reports/figures.py). In
WAL mode readers do not wait for the writer. A write through this engine (the schema at
start-up; feedback, follow-ups, the audit log and the fence, which are not journal units)
can wait, on the loop, for the journal's commit in its thread: a few milliseconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import URL

ITER_CHUNK_SIZE = 64  # aiosqlite's default


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs each call on the awaiting thread."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def inline_creator(url: URL) -> Callable[[], Any]:
    """``async_creator`` for ``create_async_engine``: a new InlineConnection to the URL's
    database (a file, or memory)."""
    database = url.database or ":memory:"

    async def connect() -> aiosqlite.Connection:
        connector = partial(sqlite3.connect, database, check_same_thread=False)
        connection = InlineConnection(connector, ITER_CHUNK_SIZE)
        connection._thread.daemon = True  # as SQLAlchemy's own connect does
        return await connection

    return connect
