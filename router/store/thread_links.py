"""The ``threads`` table's upsert: a gateway's thread key (Message-ID, chat session, call
id, platform user) pointed at a contact, the newest contact winning (router/dispatch.py).

Written with a new contact in its own journal unit (router/store/take_batch.py), and for
a message that continues a live contact (``Store.link_threads``); an agent's email reply
points its own Message-ID at its contact (router/store/replies.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from router.store.schema import ThreadRow

THREADS: Table = ThreadRow.__table__  # type: ignore[assignment]
THREAD_COLUMNS = ("gateway", "key", "contact_id", "created_at")
KEY_LENGTH: int = THREADS.c.key.type.length  # type: ignore[attr-defined]


def thread_rows(
    gateway: str, keys: Iterable[str], contact_id: str, now: float
) -> list[dict[str, Any]]:
    """The rows pointing ``keys`` at the contact: each key once, in order, without those
    longer than the column (an email's header may name any id; PostgreSQL would refuse
    the contact's whole unit for one)."""
    return [
        {"gateway": gateway, "key": key, "contact_id": contact_id, "created_at": now}
        for key in dict.fromkeys(keys)
        if len(key) <= KEY_LENGTH
    ]


def _upsert(insert: Callable[[Table], Any]) -> Insert:
    upsert = insert(THREADS)
    statement: Insert = upsert.on_conflict_do_update(
        index_elements=["gateway", "key"],
        set_={"contact_id": upsert.excluded.contact_id, "created_at": upsert.excluded.created_at},
    )
    return statement


UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def upsert_thread(connection: Connection) -> Insert:
    """The upsert in ``connection``'s dialect."""
    return UPSERTS[connection.dialect.name]
