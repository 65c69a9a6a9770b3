"""How the journal runs a batch's units: cut into runs written together, a failing unit
told apart from a failing connection, a commit in a thread awaited to its end.
router/store/journal.py uses these; they are here to keep that module to its loop."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any, Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from router.futures import settled
from router.store.journal_lanes import T, Unit


class WritesTogether(Protocol):
    """Work of which a run of consecutive units is written by one call: row changes, new
    contacts. It returns each unit's result, in order."""

    def write_together(self, connection: Connection, works: list[Any], /) -> list[Any]: ...


def runs(batch: list[Unit[Any]]) -> list[list[Unit[Any]]]:
    """The batch cut into runs: consecutive units of one kind that can be written together
    (their work's type has ``write_together(connection, works)``) form one run; every
    other unit is a run of its own. A run that fails sends the batch to be tried unit by
    unit, as any failing unit does."""
    runs: list[list[Unit[Any]]] = []
    for unit in batch:
        kind = type(unit.work)
        if runs and type(runs[-1][0].work) is kind and writes_together(kind):
            runs[-1].append(unit)
        else:
            runs.append([unit])
    return runs


_WRITES_TOGETHER: dict[type, bool] = {}


def writes_together(kind: type) -> bool:
    """Whether work of this type is ``WritesTogether`` (has ``write_together``), asked
    once per type: the journal asks per unit (an ``isinstance`` against a
    runtime-checkable protocol walks the protocol's members every time)."""
    known = _WRITES_TOGETHER.get(kind)
    if known is None:
        known = _WRITES_TOGETHER[kind] = callable(getattr(kind, "write_together", None))
    return known


async def finished(future: asyncio.Future[T]) -> T:
    """Await a commit running in a thread; if cancelled meanwhile, still wait for it to
    end before going on (the connection must not be closed under it)."""
    try:
        await settled(future)
    except asyncio.CancelledError:
        await settled(future)
        raise
    return future.result()


class UnitFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked": another connection holds the write lock."""
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


def passing(exc: Exception) -> bool:
    """A failure worth retrying the whole batch for: the connection or a lock, not the data."""
    if isinstance(exc, DBAPIError):
        invalidated = bool(exc.connection_invalidated)
        return invalidated or isinstance(exc, OperationalError | InterfaceError)
    return isinstance(exc, OSError | TimeoutError)
