"""Plans of received contacts written: many in one statement, each checked.

A plan (``changes.ContactPlan``) sets the route of a contact stored as ``received`` and
must fail if the contact is no longer ``received`` (planned twice, or finished): the
engine routes it, so the record must say so. A journal batch holds the plans of every
contact taken in since the last commit, dozens at once.

- SQLite: one ``UPDATE ... FROM (VALUES ...)`` (router/store/sqlite_updates.py); the
  number of rows it changed tells whether every plan found its contact still ``received``.
- PostgreSQL: one ``UPDATE ... FROM unnest(arrays)`` for the whole batch, ``RETURNING`` the
  contacts it planned (one round trip and one prepared statement whatever the number;
  one UPDATE per plan cost a round trip each, about half a millisecond on this machine,
  and most of a batch's commit time).

A plan that finds its contact no longer ``received`` fails the whole run with
``PlanConflict``; the journal then writes each unit alone, where it fails alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.engine import Connection

from router.states import RECEIVED
from router.store import json_text
from router.store.changes import CONTACTS, ContactPlan, PlanConflict
from router.store.sqlite_updates import update_rows

PLANNED_COLUMNS = (
    "queue",
    "rule",
    "policy",
    "triage",
    "history_boost",
    "preferred_agent",
    "state",
    "updated_at",
)
JSON_COLUMNS = frozenset({"policy", "triage"})
POSTGRES_TYPES = {"history_boost": "FLOAT8", "updated_at": "FLOAT8"}  # the rest: text


def _postgres_statement() -> TextClause:
    arrays = ", ".join(
        f"CAST(:{column} AS {POSTGRES_TYPES.get(column, 'VARCHAR')}[])"
        for column in ("id", *PLANNED_COLUMNS)
    )
    sets = ", ".join(
        f"{column} = CAST(v.{column} AS JSON)"
        if column in JSON_COLUMNS
        else f"{column} = v.{column}"
        for column in PLANNED_COLUMNS
    )
    return text(
        f"UPDATE {CONTACTS.name} AS c SET {sets} "
        f"FROM unnest({arrays}) AS v(id, {', '.join(PLANNED_COLUMNS)}) "
        "WHERE c.id = v.id AND c.state = :received RETURNING c.id"
    )


PLAN_CONTACTS_POSTGRES = _postgres_statement()


def plan_contacts(connection: Connection, plans: Sequence[ContactPlan]) -> None:
    """Write these plans (of distinct contacts); ``PlanConflict`` if any found its contact
    no longer ``received``."""
    if not plans:
        return
    if connection.dialect.name == "postgresql":
        ids = [plan.contact_id for plan in plans]
        if len(set(ids)) != len(ids):  # one after the other, the second would find it planned
            raise PlanConflict("a contact planned twice in one run")
        columns: dict[str, list[Any]] = {"id": ids}
        for column in PLANNED_COLUMNS:
            values = [plan.values[column] for plan in plans]
            if column in JSON_COLUMNS:
                values = [json_text.dumps(value) for value in values]
            columns[column] = values
        planned = set(
            connection.execute(PLAN_CONTACTS_POSTGRES, {**columns, "received": RECEIVED}).scalars()
        )
        missing = [contact_id for contact_id in ids if contact_id not in planned]
        if missing:
            raise PlanConflict(f"contact {missing[0]} is no longer received")
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
