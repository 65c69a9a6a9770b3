"""The journal's PostgreSQL connections: one kept per lane, and batches that write once.

- Each lane of the journal (router/store/journal.py) keeps its connection from batch to
  batch instead of a checkout from the pool per batch: a checkout and its reset on return
  cost about a third of the CPU of a one-statement batch (0.26 of 0.75 ms, measured with
  asyncpg here). A connection is dropped after any failure; the next batch gets a new one.
- A batch of ``WritesOnce`` work (new contacts: one INSERT, after a look-up unless the
  run is taken as unseen, router/store/take_batch.py; it fails whole on a message id
  stored meanwhile) is sent in autocommit: no BEGIN and no COMMIT, two round trips
  fewer, each a turn of the routing loop. Its one write commits by itself, all or
  nothing. A run that would need more than one write raises ``NeedsTransaction`` before
  writing, and the batch runs again in a transaction.
- While a router fence is claimed (several nodes) its lock must be held to the commit: a
  batch's statement then holds the fence itself (router/store/pg_fence.py), and routing
  decisions that make one statement (router/store/change_batch.py) are sent in
  autocommit too, one round trip instead of four (BEGIN, the fence, the rows, COMMIT).
  Without a fence a batch of decisions keeps its transaction (router/store/journal.py
  says why).
  ``bench/take_batch.py --size 1``: 1.36-1.65 ms of CPU a batch against 1.98-2.95 ms;
  ``bench/intake.py`` on PostgreSQL: 1.22-1.28 ms of CPU a contact against 1.42-1.43 ms.
- Either way the batch is one call into the driver's greenlet (``in_transaction``): its
  BEGIN, its units and its COMMIT, which ``async with connection.begin()`` would have run
  in greenlets of their own. At half of max most batches carry one contact, so what a
  batch costs beside its rows counts: ``bench/take_batch.py --size 1`` 0.56-0.58 against
  0.59-0.61 ms of CPU a batch (the eighteenth session, a slower VM).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.pg_fence import FenceCheck

log = logging.getLogger("centralino.journal")
T = TypeVar("T")


class WritesOnce(Protocol):
    """Work of which a run writes with one statement, after its reads. ``write_once``
    raises ``NeedsTransaction``, before writing anything, when this run needs more; with
    a ``fence`` the statement checks it (router/store/pg_fence.py)."""

    def write_once(
        self, connection: Connection, works: list[Any], fence: FenceCheck | None, /
    ) -> list[Any]: ...


class NeedsTransaction(Exception):
    """``write_once`` cannot write this run with one statement (nothing was written)."""


def writes_once(batch: Sequence[Any]) -> bool:
    """Every unit of ``batch`` (journal units) is ``WritesOnce`` work of one kind."""
    kind = type(batch[0].work)
    return callable(getattr(kind, "write_once", None)) and all(
        type(unit.work) is kind for unit in batch
    )


async def in_autocommit(
    connection: AsyncConnection, run: Callable[..., list[Any]], *args: Any
) -> list[Any]:
    """``run(connection, *args)`` in autocommit: the driver starts no transaction, and
    SQLAlchemy's begin and commit send nothing then. (The DBAPI connection's flag, for
    this batch only: SQLAlchemy's ``isolation_level`` option, set per batch on a kept
    connection, would grow its pool record's reset callbacks without bound.)"""
    driver = (await connection.get_raw_connection()).dbapi_connection
    assert driver is not None
    driver.autocommit = True
    try:
        return await connection.run_sync(in_transaction, run, *args)
    finally:
        driver.autocommit = False


def in_transaction(connection: Connection, run: Callable[..., T], *args: Any) -> T:
    """``run(connection, *args)`` between BEGIN and COMMIT (ROLLBACK if it raises), in one
    call of ``AsyncConnection.run_sync``: ``async with connection.begin()`` around it would
    run the begin and the commit in greenlets of their own, two more hand-offs a batch.
    (With the driver in autocommit, begin and commit send nothing.)"""
    with connection.begin():
        return run(connection, *args)


async def dropped(connection: AsyncConnection) -> None:
    """Close a lane's connection (rolling back what a failure left), whatever state the
    failure left it in: what closing it raises is not the batch's error."""
    try:
        await asyncio.shield(connection.close())
    except (SQLAlchemyError, OSError) as exc:
        log.debug("closing a journal connection: %r", exc)
