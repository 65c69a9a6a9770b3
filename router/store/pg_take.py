"""PostgreSQL: a run of new contacts taken in with two statements instead of five or more.

On PostgreSQL every statement of a journal batch is a round trip, and each reply waits
its turn at the routing loop; at a shift start the loop is busy and a turn can take tens
of milliseconds, so a batch of new contacts cost its round trips times the loop's lag
(BEGIN, the fence, the message-id look-up, the identities' look-up, their customers'
``merged_into``, three INSERTs, COMMIT). Here:

- ``look_up``: one SELECT answers the message ids already stored, the identities' owners
  and those owners' ``merged_into``, each pair probed through its unique key by a
  ``LATERAL`` subquery (as router/store/pair_lookup.py explains) from two parallel
  arrays;
- ``insert``: one INSERT of the contacts whose ``WITH`` inserts the new customers and
  their identities first (and upserts the contacts' thread keys, if they have any), each
  row passed as one JSON object, a table's rows one parameter (router/store/pg_rows.py),
  so the statement's text does not depend on the number of rows and asyncpg prepares it
  once. The identities' and threads' foreign keys are checked at the end of the
  statement, when the customers and contacts are there. A message id or an identity
  another node stored since the look-up fails the whole statement (unique keys; no
  ``ON CONFLICT`` but the threads', where the newest contact wins), so nothing of the
  run is written and the journal takes each unit alone. That makes the run's one write
  all or nothing: the journal's intake lane sends it without BEGIN and COMMIT
  (``write_once``). While a router fence is claimed, the INSERT holds it too and fails
  whole without it (``fence``: router/store/pg_fence.py).

What is written is what router/store/take_batch.py writes on SQLite, row for row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from router.store import driver
from router.store.changes import CONTACTS
from router.store.customers import CUSTOMERS, IDENTITIES
from router.store.new_rows import with_defaults
from router.store.pg_fence import FENCE_LOST, FENCED_OUT, FenceCheck, checked, raise_check
from router.store.pg_rows import quoted, rows_parameter, select_from_rows
from router.store.schema import ContactRow
from router.store.thread_links import THREAD_COLUMNS, THREADS

LOOK_UP = text(
    "SELECT 'message', x.gateway, x.external_id, x.id, NULL "
    "FROM unnest(CAST(:gateways AS VARCHAR[]), CAST(:messages AS VARCHAR[])) AS m(a, b), "
    "LATERAL (SELECT * FROM contacts AS x WHERE x.gateway = m.a AND x.external_id = m.b "
    "OFFSET 0) AS x "
    "UNION ALL "
    "SELECT 'identity', x.kind, x.value, x.customer_id, c.merged_into "
    "FROM unnest(CAST(:kinds AS VARCHAR[]), CAST(:values AS VARCHAR[])) AS m(a, b), "
    "LATERAL (SELECT * FROM identities AS x WHERE x.kind = m.a AND x.value = m.b "
    "OFFSET 0) AS x "
    "JOIN customers AS c ON c.id = x.customer_id"
)


@dataclass(frozen=True, slots=True)
class Found:
    """What a run's look-up found stored."""

    contacts: dict[tuple[str, str], str]  # (gateway, message id) -> contact id
    owners: dict[tuple[str, str], str]  # (kind, value) -> customer id
    merged: dict[str, str | None]  # an owner -> the customer it was merged into


def look_up(
    connection: Connection, keys: Sequence[tuple[str, str]], pairs: Sequence[tuple[str, str]]
) -> Found:
    """Contacts stored under ``keys`` (gateway, message id), owners of the identity
    ``pairs`` (kind, value) and whether those owners were merged: one round trip."""
    found = Found({}, {}, {})
    parameters = {
        "gateways": [gateway for gateway, _ in keys],
        "messages": [message for _, message in keys],
        "kinds": [kind for kind, _ in pairs],
        "values": [value for _, value in pairs],
    }
    for what, first, second, owner, merged_into in driver.execute(connection, LOOK_UP, parameters):
        if what == "message":
            found.contacts[(first, second)] = owner
        else:
            found.owners[(first, second)] = owner
            found.merged[owner] = merged_into
    return found


CUSTOMER_COLUMNS = ("id", "name", "created_at")
IDENTITY_COLUMNS = ("kind", "value", "customer_id", "created_at")
CONTACT_COLUMNS = tuple(CONTACTS.c.keys())
NEW_CUSTOMERS = (
    f"WITH new_customers AS (INSERT INTO customers ({quoted(CUSTOMER_COLUMNS)}) "
    f"{select_from_rows(CUSTOMERS, CUSTOMER_COLUMNS, 'customer')}), "
    f"new_identities AS (INSERT INTO identities ({quoted(IDENTITY_COLUMNS)}) "
    f"{select_from_rows(IDENTITIES, IDENTITY_COLUMNS, 'identity')}) "
)
NEW_THREADS = (
    f", new_threads AS (INSERT INTO threads ({quoted(THREAD_COLUMNS)}) "
    f"{select_from_rows(THREADS, THREAD_COLUMNS, 'thread')} "
    'ON CONFLICT ("gateway", "key") DO UPDATE SET "contact_id" = EXCLUDED."contact_id", '
    '"created_at" = EXCLUDED."created_at") '
)
NEW_CONTACTS = (
    f"INSERT INTO contacts ({quoted(CONTACT_COLUMNS)}) "
    f"{select_from_rows(CONTACTS, CONTACT_COLUMNS, 'contact')} RETURNING id"
)
INSERT = text(NEW_CUSTOMERS + NEW_CONTACTS)
INSERT_WITH_THREADS = text(NEW_CUSTOMERS.rstrip() + NEW_THREADS + NEW_CONTACTS)
"""With the contacts' thread keys (a chat, an email), the newest contact winning a key:
the run's rows hold a key once (router/store/take_batch.py)."""


@lru_cache(maxsize=4)
def fenced(threads: bool, fence: str) -> TextClause:
    """The INSERT (``threads``: with the thread keys') after the ``fence`` part: one row,
    the fence's check (router/store/pg_fence.py; asked first, so its lock comes first)
    and how many contacts were inserted."""
    parts = NEW_CUSTOMERS.rstrip() + (NEW_THREADS.rstrip() if threads else "")
    parts = parts.replace("WITH ", f"WITH fence AS ({fence}), ", 1)
    return text(
        f"{parts}, new_contacts AS ({NEW_CONTACTS}) "
        f"SELECT {checked([(FENCE_LOST, FENCED_OUT)])}, (SELECT count(*) FROM new_contacts)"
    )


def insert(
    connection: Connection,
    customers: Sequence[dict[str, Any]],
    identities: Sequence[dict[str, Any]],
    contacts: Sequence[dict[str, Any]],
    threads: Sequence[dict[str, Any]] = (),
    fence: FenceCheck | None = None,
) -> int:
    """Insert the run's new customers, their identities and its contacts (a column a
    contact does not give gets its default, as through SQLAlchemy), and upsert its
    contacts' ``threads``: one round trip. Returns how many contacts were inserted (all:
    a message id stored meanwhile fails the statement). ``fence``: the statement holds
    it, or fails whole with ``FencedOut``."""
    rows = [with_defaults(ContactRow, contact) for contact in contacts]
    parameters = (
        rows_parameter(CUSTOMERS, CUSTOMER_COLUMNS, "customer", customers)
        | rows_parameter(IDENTITIES, IDENTITY_COLUMNS, "identity", identities)
        | rows_parameter(CONTACTS, CONTACT_COLUMNS, "contact", rows)
    )
    if threads:
        parameters |= rows_parameter(THREADS, THREAD_COLUMNS, "thread", threads)
    if fence is None:
        statement = INSERT_WITH_THREADS if threads else INSERT
        return len(driver.execute(connection, statement, parameters))
    statement = fenced(bool(threads), fence.part)
    try:
        ((_held, inserted),) = driver.execute(connection, statement, parameters | fence.parameters)
    except DBAPIError as exc:
        raise_check(exc, fence)
        raise
    return int(inserted)
