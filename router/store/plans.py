"""Plans of received contacts written: many in one statement, each checked.

A plan (``changes.ContactPlan``) sets the route of a contact stored as ``received`` and
must fail if the contact is no longer ``received`` (planned twice, or finished): the
engine routes it, so the record must say so. A journal batch holds the plans of every
contact taken in since the last commit, dozens at once.

- SQLite: one prepared ``UPDATE ... WHERE id = ? AND state = ?`` sent with
  ``executemany`` (router/store/sqlite_updates.py); the number of rows it changed tells
  whether every plan found its contact still ``received``.
- PostgreSQL: the contacts' update of the batch's one statement (router/store/
  pg_changes.py), each plan a row updated only while its contact is ``received``; the
  statement counts the plans written (one round trip and one prepared statement whatever
  the number; one UPDATE per plan cost a round trip each, about half a millisecond on
  this machine, and most of a batch's commit time).

A plan that finds its contact no longer ``received`` fails the whole run with
``PlanConflict``; the journal then writes each unit alone, where it fails alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from router.states import RECEIVED
from router.store.changes import CONTACTS, PLANNED_COLUMNS, ContactPlan, PlanConflict
from router.store.pg_changes import write_rows
from router.store.sqlite_updates import update_rows


def plan_contacts(connection: Connection, plans: Sequence[ContactPlan]) -> None:
    """Write these plans (of distinct contacts); ``PlanConflict`` if any found its contact
    no longer ``received``."""
    if not plans:
        return
    if connection.dialect.name == "postgresql":
        write_rows(connection, ((), (), (), ()), {}, {}, plans)
    else:
        rows = [
            (plan.contact_id, {column: plan.values[column] for column in PLANNED_COLUMNS})
            for plan in plans
        ]
        changed = update_rows(connection, CONTACTS, rows, only_if=("state", RECEIVED))
        if changed != len(plans):  # the count does not tell which: written alone, it will
            raise PlanConflict(
                f"{len(plans) - changed} of {len(plans)} contacts no longer received"
            )
