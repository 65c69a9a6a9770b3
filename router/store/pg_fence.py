"""PostgreSQL: the router fence, and a batch's own checks, inside its one statement.

While a router fence is claimed (several nodes: router/cluster/lease.py), a journal batch
may commit only while this router's epoch still holds it. In a transaction the fence is a
statement of its own whose lock is held to the COMMIT (``hold``, first in the journal's
transaction: router/store/journal.py): BEGIN, the fence, the rows, COMMIT, four round
trips for a batch whose rows are one statement (routing decisions:
router/store/pg_changes.py; new contacts: router/store/pg_take.py). Here the fence is a
part of that statement, ``WITH fence AS (...)``, and the statement is sent in autocommit
(router/store/pg_connection.py): one round trip. The fence's row is locked as in the
transaction (the decisions' batch updates it, the intake lane's takes a key-share lock),
first (the statement's check asks for it before anything else it reads; the other parts
run after), and the lock is held until the statement commits, so a successor's claim,
which locks the row ``FOR UPDATE``, still comes after every batch this router commits, or
finds it fenced out. (A statement whose connection is lost before its answer may have
committed, as a COMMIT whose answer is lost may have, only for longer: the journal tries
the batch again, where an offer's or a gateway event's key refuses a batch already written
and each unit is tried alone; a batch of contact updates and routing events alone would be
written again, the same values, its routing events twice.)

A statement that commits by itself cannot be rolled back after it ran, so it fails from
inside when the fence was lost (and a batch of decisions when a plan found its contact no
longer ``received``): its result is ``CAST(CASE WHEN <failure> THEN '<its name>' ...
ELSE '0' END AS INTEGER)``, which fails to cast, and with it the statement and every part
of it, unless nothing failed. ``raise_check`` turns that error into the store's own
(``FencedOut``, ``PlanConflict``). The CASE is cast whole: a cast inside a branch would be
a constant, which PostgreSQL folds, failing every statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from router.store.changes import PlanConflict
from router.store.errors import FencedOut

FENCED_OUT = "centralino: router epoch fenced out"
PLANS_REFUSED = "centralino: plans of contacts no longer received"
FENCE_LOST = "NOT EXISTS (SELECT FROM fence)"
"""The failure of a fenced statement (its ``fence`` part found no row of this epoch)."""
_MINE = "domain = :fence_domain AND epoch = :fence_epoch"
_UPDATE = f"UPDATE router_fence SET epoch = epoch WHERE {_MINE}"
OWN_PART = f"{_UPDATE} RETURNING epoch"
"""The decisions' lane: the fence's row updated (a successor's claim waits for it)."""
SHARED_PART = f"SELECT epoch FROM router_fence WHERE {_MINE} FOR KEY SHARE"
"""The intake lane: a key-share lock, which a successor's claim waits for as it does for
the decisions' update, but which does not wait for that update itself."""
HOLD_OWN: TextClause = text(_UPDATE)  # its row count tells (no RETURNING: SQLite < 3.35)
HOLD_SHARED: TextClause = text(SHARED_PART)


@dataclass(frozen=True, slots=True)
class FenceCheck:
    """The fence a one-statement batch checks: this router's ``domain`` and ``epoch``.
    ``shared``: the batch of the journal's intake lane, which runs beside the decisions'
    batch and must not wait for its lock (a key-share lock: ``SHARED_PART``)."""

    domain: str
    epoch: int
    shared: bool = False

    @property
    def part(self) -> str:
        """The statement's ``fence`` part: its row while this epoch holds it, locked."""
        return SHARED_PART if self.shared else OWN_PART

    @property
    def parameters(self) -> dict[str, Any]:
        return {"fence_domain": self.domain, "fence_epoch": self.epoch}


def hold(connection: Connection, fence: FenceCheck) -> None:
    """The fence as a statement of its own, first in a batch's transaction (either
    database; the shared lane is PostgreSQL's): the same row lock as the one-statement
    ``part``, held to the COMMIT. FencedOut if this epoch no longer holds the fence."""
    if fence.shared:
        held = connection.execute(HOLD_SHARED, fence.parameters).first() is not None
    else:
        held = connection.execute(HOLD_OWN, fence.parameters).rowcount == 1
    if not held:
        raise FencedOut(f"router epoch {fence.epoch} was fenced out")


def checked(failures: Sequence[tuple[str, str]]) -> str:
    """The expression that fails the statement on the first of ``failures`` (a condition
    and the name it fails with) that holds, and is 0 otherwise."""
    cases = " ".join(f"WHEN {condition} THEN '{name}'" for condition, name in failures)
    return f"CAST(CASE {cases} ELSE '0' END AS INTEGER)"


def raise_check(error: DBAPIError, fence: FenceCheck) -> None:
    """Raise the store's error for a check of ``checked`` that failed the statement
    (``error``) holding ``fence``; return if the statement failed for another reason."""
    message = str(error.orig)
    if FENCED_OUT in message:
        raise FencedOut(f"router epoch {fence.epoch} was fenced out") from error
    if PLANS_REFUSED in message:
        raise PlanConflict(PLANS_REFUSED) from error
