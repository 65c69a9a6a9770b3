"""Hot reads by key, sent through the driver on a connection the reader keeps.

A desktop's login reads its agent by token hash: one indexed row. Through SQLAlchemy's
async engine (``prompt_read`` and ``Connection.execute``) that read cost 410 µs of CPU on
SQLite and 520 µs on PostgreSQL (2,000 reads one after another, the forty-fifth
session's VM): a pool checkout and a close, three greenlet switches, an execution context,
the expanding IN's parameters processed, a result object. The database's own work is a
few microseconds on SQLite. A login's whole cost was 2.4-3.4 ms of the server's CPU on
SQLite and 3.2-3.9 ms on PostgreSQL, and 2,000 desktops log in within seconds at a shift
start; with the token read through the driver 1.9-2.5 and 2.4-3.1 ms (bench/logins.py;
docs/hot-path-history.md, the forty-fifth session).

``KeptReads`` is the one small interface: ``fetch(sql, params)`` gives the rows of one
statement written for the dialect (``style`` says its parameters' style), or raises
StoreError; ``fetch_statement`` compiles a SQLAlchemy statement for the dialect once
(its text and the order of its parameters, cached; no expanding parameter) and fetches
it with named values.
Rows come as the driver gives them (tuples; asyncpg's records), without SQLAlchemy's
result processing: a SQLite boolean is 0 or 1. Two implementations, by database
(``kept_reads_for``):

- SQLite file: a stdlib ``sqlite3`` connection of its own, used on the event loop (the
  store's SQLite reads run there too, router/store/sqlite_inline.py), to the file as its
  path resolved when the store opened (never created: ``mode=rw``). It begins no
  transaction (``isolation_level=None``): each SELECT reads the last commit; in WAL mode
  a reader never waits for the writer (the driver's default timeout, 5 s, as the store's
  readers, for what does). ``PRAGMA query_only``: it cannot write.
- PostgreSQL: one connection taken from the readers' pool for good (the pool is sized
  for it: router/store/engines.py), and its asyncpg connection used directly
  (``fetch``: its cache of prepared statements; no transaction, as the pool's autocommit
  readers). asyncpg runs one statement at a time on a connection: reads wait for each
  other on a lock (the logins' reads are gathered into one anyway,
  router/gathered_reads.py); a read cancelled meanwhile is cancelled on the server too,
  and the next one waits for that.

A connection that failed with a driver's error is dropped (PostgreSQL: invalidated, the
pool opens another) and the next read opens a new one; the failed read raises StoreError
(503 with Retry-After at the gateway, ``unavailable`` to a desktop), as the store's other
reads do. After ``aclose`` every read raises StoreError and none opens a connection.
An in-memory SQLite database cannot be opened twice: ``kept_reads_for`` gives None
there and the caller reads through the engine as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import asyncpg
from sqlalchemy import ClauseElement
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler

from router.store.errors import StoreError

Style = Literal["qmark", "numeric_dollar"]
"""``?`` placeholders (SQLite) or ``$1``, ``$2``... (PostgreSQL)."""
Rows = list[Sequence[Any]]
DRIVER_ERRORS = (
    SQLAlchemyError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # what a read on a connection the server ended raised
)
"""PostgreSQL: the pool's (connecting), the socket's and asyncpg's own errors."""


class KeptReads(Protocol):
    style: Style
    dialect: Dialect
    statements: int
    """Statements sent so far (tests count them)."""

    async def fetch(self, sql: str, params: Sequence[Any]) -> Rows: ...

    async def aclose(self) -> None: ...


async def fetch_statement(
    reads: KeptReads, statement: ClauseElement, values: Mapping[str, Any]
) -> Rows:
    """``statement``'s rows, its parameters given by name in ``values`` (those it holds
    itself, as a LIMIT's, it keeps)."""
    sql, names, fixed, processors = _compiled(statement, reads.dialect)
    params = [values[name] if name in values else fixed[name] for name in names]
    for position, processor in processors:
        params[position] = processor(params[position])
    return await reads.fetch(sql, params)


@lru_cache(maxsize=256)
def _compiled(
    statement: ClauseElement, dialect: Dialect
) -> tuple[str, tuple[str, ...], dict[str, Any], tuple[tuple[int, Callable[[Any], Any]], ...]]:
    """The statement's text for ``dialect``, its parameters' names in order, the values it
    holds itself, and the parameters' processors by position."""
    done = cast(SQLCompiler, statement.compile(dialect=dialect))
    if done.post_compile_params or done.literal_execute_params:
        # rendered only at execution, with their values: the text here would be wrong
        raise ValueError("a kept read's statement cannot have expanding parameters")
    names = tuple(done.positiontup or ())
    processors = cast(dict[str, Callable[[Any], Any]], done._bind_processors)
    return (
        done.string,
        names,
        {name: bind.effective_value for name, bind in done.binds.items() if not bind.required},
        tuple((i, processors[name]) for i, name in enumerate(names) if name in processors),
    )


CLOSED = "could not read: the store is closed"


def _failed(exc: BaseException) -> StoreError:
    return StoreError(f"could not read: {type(exc).__name__}")


class SqliteKeptReads:
    style: Style = "qmark"

    def __init__(self, path: str, dialect: Dialect) -> None:
        # the file as it is now (not one the working directory may later point at), opened
        # read-write but never created: a missing file is an error, not an empty database
        self._uri = Path(path).resolve().as_uri() + "?mode=rw"
        self.dialect = dialect
        self._connection: sqlite3.Connection | None = None
        self._closed = False
        self.statements = 0

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._uri, uri=True, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute("PRAGMA query_only=ON")
        except BaseException:
            connection.close()
            raise
        return connection

    async def fetch(self, sql: str, params: Sequence[Any]) -> Rows:
        if self._closed:
            raise StoreError(CLOSED)
        self.statements += 1
        try:
            if self._connection is None:
                self._connection = self._open()
            return self._connection.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            self._forget()
            raise _failed(exc) from exc

    def _forget(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    async def aclose(self) -> None:
        self._closed = True
        self._forget()


class PostgresKeptReads:
    style: Style = "numeric_dollar"

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self.dialect = engine.dialect
        self._held: AsyncConnection | None = None
        self._driver: Any = None  # the held connection's asyncpg.Connection
        self._lock = asyncio.Lock()
        self._closed = False
        self.statements = 0

    async def fetch(self, sql: str, params: Sequence[Any]) -> Rows:
        async with self._lock:
            if self._closed:
                raise StoreError(CLOSED)
            self.statements += 1
            try:
                if self._driver is None:
                    await self._connect()
                rows: Rows = await self._driver.fetch(sql, *params)
                return rows
            except DRIVER_ERRORS as exc:
                await self._drop()
                raise _failed(exc) from exc

    async def _connect(self) -> None:
        try:
            self._held = await self._engine.connect()
            self._driver = (await self._held.get_raw_connection()).driver_connection
        except BaseException:  # failed or cancelled halfway: nothing half-open is kept
            await self._drop()
            raise

    async def _drop(self) -> None:
        """Invalidate the held connection (its socket closed at once) and give it back to
        the pool, which forgets it; even if cancelled meanwhile."""
        held, self._held, self._driver = self._held, None, None
        if held is None:
            return
        try:
            with contextlib.suppress(*DRIVER_ERRORS):
                await held.invalidate()
        finally:
            with contextlib.suppress(*DRIVER_ERRORS):
                await held.close()

    async def aclose(self) -> None:
        """No read after this; one in flight fails (its connection is invalidated, not
        waited for: a read the server never answers would hold the shutdown)."""
        self._closed = True
        await self._drop()


def kept_reads_for(engine: AsyncEngine) -> KeptReads | None:
    """The kept reads for the store's readers ``engine`` (PostgreSQL: its autocommit
    variant), or None for an in-memory SQLite database."""
    if engine.dialect.name == "postgresql":
        return PostgresKeptReads(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:"):
        return SqliteKeptReads(database, engine.dialect)
    return None
