"""SQLite specifics: the connection pragmas, and one process per database file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from router.store.errors import StoreError


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def sqlite_writer(url: URL, *, json_serializer: Any) -> Engine:
    """The journal's engine for a SQLite file: the stdlib driver, one connection (used by
    the event loop for a batch's statements and by the journal's thread for its commit,
    one after the other, hence ``check_same_thread`` off), which does not wait for locks
    itself (router/store/journal.py waits without holding the loop).

    An ``executemany`` INSERT through SQLAlchemy is sent as multi-row ``INSERT ... VALUES
    (...), (...)`` statements (its "insertmanyvalues", which this dialect otherwise keeps
    for INSERT ... RETURNING), chosen while the journal's statements ran in a thread of
    their own and each row of an ``executemany`` let go of the interpreter lock. The
    journal's hot statements now bypass SQLAlchemy's execution and use ``executemany``
    (router/store/driver.py), since they run on the event loop."""
    writer = create_engine(
        url.set(drivername="sqlite"),
        pool_size=1,
        json_serializer=json_serializer,
        connect_args={"check_same_thread": False},
    )
    writer.dialect.use_insertmanyvalues_wo_returning = True
    event.listen(writer, "connect", sqlite_pragmas)
    event.listen(writer, "connect", _no_busy_timeout)
    return writer


def _no_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    """The journal's connection is used on the event loop: a lock held elsewhere is
    answered at once, and the journal waits for it without holding the loop."""
    dbapi_connection.execute("PRAGMA busy_timeout=0")


def sqlite_lock(url: str) -> IO[str] | None:
    """An exclusive lock beside a SQLite file, held while this process serves it; StoreError
    naming the holder if another process has it. None for other databases."""
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:":
        return None
    path = Path(database).with_name(Path(database).name + ".lock")
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise StoreError(
            f"{database} is in use by another centralino process (pid {holder}); SQLite "
            "serves one process: stop that one, or use PostgreSQL for several nodes"
        ) from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
