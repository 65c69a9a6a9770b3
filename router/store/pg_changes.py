"""PostgreSQL: a journal batch's rows of routing decisions in one statement.

A batch of routing decisions inserts offers, agent states, routing events and gateway
events, and updates contacts and offers (router/store/change_batch.py). As one
``executemany`` a table and a set of columns updated, that was a round trip for each (a
shift start's batch updates contacts offered, assigned, queued..., each setting other
columns), and each reply waits its turn at the busy routing loop. Here they are one
INSERT whose ``WITH`` holds the other parts: each row one JSON object, a part's rows one
parameter (router/store/pg_rows.py), so the text is the same whatever the rows and is prepared
once (once per set of columns updated, for the updates). Routing events and gateway events
draw their serial ids in the order they were submitted (``WITH ORDINALITY ... ORDER BY``):
a subscriber reads the outbox by ``seq``.

An update sets, for each row, only the columns that row's changes gave: each column
updated travels with a flag (``CASE WHEN u."set_state" THEN u."state" ELSE
t."state" END``), so contacts updated with different columns are still one part.

The parts of one statement do not see one another's rows, so they must not depend on one
another: the offers' contacts are already stored, an update of an offer inserted in the
same batch was merged into its insert (change_batch.py), and each contact or offer is
updated once (its changes merged, later values winning).

Plans of received contacts (``changes.ContactPlan``) are rows of the contacts' update too,
flagged: a planned row is updated only where its contact is still ``received``, with the
plan's columns and those of the updates that followed it, merged. The statement then
returns how many plans it wrote; fewer than given raises ``PlanConflict``, and the
batch's transaction is rolled back (the journal then writes each unit alone). A batch of
decisions, plans included, is one statement (it was two: the plans' UPDATE first).

While a router fence is claimed, the statement holds the fence too and is sent without
BEGIN and COMMIT (``fence``: router/store/pg_fence.py), one round trip instead of four;
it then fails from inside when the fence was lost or a plan refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from router.states import RECEIVED
from router.store import driver
from router.store.changes import (
    AGENT_STATES,
    CONTACTS,
    EVENTS,
    OFFERS,
    OUTBOX,
    PLANNED_COLUMNS,
    ContactPlan,
    PlanConflict,
)
from router.store.new_rows import with_defaults
from router.store.pg_fence import (
    FENCE_LOST,
    FENCED_OUT,
    PLANS_REFUSED,
    FenceCheck,
    checked,
    raise_check,
)
from router.store.pg_rows import (
    from_row,
    quoted,
    row_text,
    rows_from,
    rows_parameter,
    select_from_rows,
    value_type,
)
from router.store.schema import AgentStateRow, OfferRow, OutboxEventRow, RoutingEventRow

# (prefix of its parameters, table, model, whether its serial ids follow the rows' order)
TABLES: tuple[tuple[str, Table, Any, bool], ...] = (
    ("offer", OFFERS, OfferRow, False),
    ("state", AGENT_STATES, AgentStateRow, True),
    ("event", EVENTS, RoutingEventRow, True),
    ("outbox", OUTBOX, OutboxEventRow, True),
)


def _columns(table: Table) -> tuple[str, ...]:
    """Every column but a serial id (the database draws it)."""
    serial = table.autoincrement_column
    return tuple(column.key for column in table.columns if column is not serial)


COLUMNS = {prefix: _columns(table) for prefix, table, _model, _ordered in TABLES}
_PARTS = [
    f"INSERT INTO {table.name} ({quoted(COLUMNS[prefix])}) "
    + select_from_rows(table, COLUMNS[prefix], prefix, ordered=ordered)
    for prefix, table, _model, ordered in TABLES
]
Updates = dict[str, dict[str, Any]]
"""Row id -> the columns to set and their values."""


def _update_part(
    table: Table, prefix: str, columns: tuple[str, ...], *, planned: bool = False
) -> str:
    """``UPDATE`` of ``table``'s rows by id from the JSON rows: each column set where its
    flag is. ``planned``: rows flagged ``plan`` are updated only while their contact is
    ``received``, and the update returns those flags (the statement counts them)."""
    typed = [("id", value_type(table.c.id))]
    for column in columns:
        typed += [(column, value_type(table.c[column])), (f"set_{column}", "BOOLEAN")]
    if planned:
        typed.append(("plan", "BOOLEAN"))
    assignments = ", ".join(
        f'"{column}" = CASE WHEN u."set_{column}" THEN {from_row(table, column)} '
        f'ELSE t."{column}" END'
        for column in columns
    )
    update = (
        f"UPDATE {table.name} AS t SET {assignments} "
        f'FROM {rows_from(typed, prefix)} WHERE t."id" = u."id"'
    )
    if planned:
        update += ' AND (NOT u."plan" OR t."state" = :received) RETURNING u."plan"'
    return update


@lru_cache(maxsize=256)
def statement(
    contact_columns: tuple[str, ...],
    offer_columns: tuple[str, ...],
    planned: bool = False,
    fence: str | None = None,
) -> TextClause:
    """The batch's statement: the last table's INSERT; the other inserts and the updates
    (of these columns; none if empty) run in its WITH. ``planned``: every part runs in
    the WITH, and the statement counts the plans written. ``fence`` (the fence's part,
    router/store/pg_fence.py): every part runs in the WITH after it, and the statement
    fails unless it holds the fence and (``planned``) every plan was written. Its check
    asks for the fence first, so the fence's row is locked before any contact's, as the
    transaction locked it (a plan's count reads the contacts' update, which locks them)."""
    parts = list(_PARTS[:-1])
    if planned or fence is not None:
        parts.append(_PARTS[-1])
    contacts_part = f"part{len(parts)}"
    if contact_columns:
        parts.append(_update_part(CONTACTS, "contact_set", contact_columns, planned=planned))
    if offer_columns:
        parts.append(_update_part(OFFERS, "offer_set", offer_columns))
    named = [(f"part{i}", part) for i, part in enumerate(parts)]
    last = _PARTS[-1]
    plans_written = f'SELECT count(*) FROM {contacts_part} WHERE {contacts_part}."plan"'
    if fence is not None:
        named.insert(0, ("fence", fence))
        failures = [(FENCE_LOST, FENCED_OUT)]
        if planned:
            failures.append((f"({plans_written}) <> :plans", PLANS_REFUSED))
        last = f"SELECT {checked(failures)}"
    elif planned:
        last = plans_written
    return text("WITH " + ", ".join(f"{name} AS ({part})" for name, part in named) + f" {last}")


def _update_parameters(
    table: Table, prefix: str, columns: tuple[str, ...], rows: Updates, planned: set[str]
) -> dict[str, list[str]]:
    """The rows of the update: each its id, a value a column (None where the row does not
    set it, not used) with a flag, whether it sets it, and with ``planned`` (the ids of
    the rows that are plans) a flag ``plan``."""
    records: list[str] = []
    for row_id, changed in rows.items():
        record: dict[str, Any] = {"id": row_id}
        for column in columns:
            record[column] = changed.get(column)
            record[f"set_{column}"] = column in changed
        if planned:
            record["plan"] = row_id in planned
        records.append(row_text(table, columns, record))
    return {f"{prefix}_rows": records}


def _columns_of(rows: Updates) -> tuple[str, ...]:
    columns: set[str] = set()
    for changed in rows.values():
        columns.update(changed)
    return tuple(sorted(columns))


def write_rows(
    connection: Connection,
    rows: Sequence[Sequence[dict[str, Any]]],
    contacts: Updates,
    offers: Updates,
    plans: Sequence[ContactPlan] = (),
    fence: FenceCheck | None = None,
) -> None:
    """Insert ``rows`` (the new offers, agent states, routing events and gateway events, in
    that order, each list in submission order; a column a row does not give gets its
    default, as through SQLAlchemy), write ``plans`` (of distinct contacts; the updates of
    a planned contact in ``contacts`` came after its plan) and update ``contacts`` and
    ``offers``, which must not be among the offers inserted: one round trip; none if there
    is nothing. ``PlanConflict`` if a plan found its contact no longer ``received``: the
    caller's transaction must then be rolled back. ``fence``: the statement checks it and
    commits by itself (sent in autocommit), failing whole, with ``FencedOut`` or
    ``PlanConflict``, unless every check holds."""
    if not any(rows) and not contacts and not offers and not plans:
        return
    parameters: dict[str, Any] = {}
    for (prefix, table, model, _ordered), given in zip(TABLES, rows, strict=True):
        filled = [with_defaults(model, row) for row in given]
        parameters |= rows_parameter(table, COLUMNS[prefix], prefix, filled)
    if plans:
        contacts = _with_plans(contacts, plans)
    contact_columns, offer_columns = _columns_of(contacts), _columns_of(offers)
    planned = {plan.contact_id for plan in plans}
    if contact_columns:
        parameters |= _update_parameters(
            CONTACTS, "contact_set", contact_columns, contacts, planned
        )
    if offer_columns:
        parameters |= _update_parameters(OFFERS, "offer_set", offer_columns, offers, set())
    if plans:
        parameters["received"] = RECEIVED
    if fence is not None:
        parameters |= fence.parameters
        if plans:
            parameters["plans"] = len(plans)
        batch = statement(contact_columns, offer_columns, bool(plans), fence.part)
        try:
            driver.execute(connection, batch, parameters)
        except DBAPIError as exc:
            raise_check(exc, fence)
            raise
        return
    result = driver.execute(
        connection, statement(contact_columns, offer_columns, bool(plans)), parameters
    )
    written = result[0][0] if plans else 0
    if written != len(plans):
        raise PlanConflict(f"{len(plans) - written} of {len(plans)} contacts no longer received")


def _with_plans(contacts: Updates, plans: Sequence[ContactPlan]) -> Updates:
    """The contacts' updates with each plan's columns first in its contact's row (the
    updates that followed the plan win)."""
    ids = [plan.contact_id for plan in plans]
    if len(set(ids)) != len(ids):  # one after the other, the second would find it planned
        raise PlanConflict("a contact planned twice in one run")
    merged = dict(contacts)
    for plan in plans:
        planned = {column: plan.values[column] for column in PLANNED_COLUMNS}
        merged[plan.contact_id] = planned | contacts.get(plan.contact_id, {})
    return merged
