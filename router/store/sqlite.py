"""SQLite specifics: the connection pragmas, and one process per database file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import make_url

from router.store.errors import StoreError


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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
