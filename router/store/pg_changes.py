"""PostgreSQL: a journal batch's new rows of routing decisions in one statement.

A batch of routing decisions inserts offers, agent states, routing events and gateway
events (router/store/change_batch.py). As one ``executemany`` a table, that is up to four
round trips, each of whose replies waits its turn at the busy routing loop. Here they are
one INSERT whose ``WITH`` inserts the first three: every row as one array a column
(router/store/pg_arrays.py), so the text is the same whatever the rows and is prepared
once. Routing events and gateway events draw their serial ids in the order they were
submitted (``WITH ORDINALITY ... ORDER BY``): a subscriber reads the outbox by ``seq``.

The four tables do not depend on one another within a batch (the offers' contacts are
already stored), so it does not matter in which order PostgreSQL runs the parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection

from router.store.changes import AGENT_STATES, EVENTS, OFFERS, OUTBOX
from router.store.new_rows import with_defaults
from router.store.pg_arrays import array_parameters, quoted, select_from_arrays
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
    + select_from_arrays(table, COLUMNS[prefix], prefix, ordered=ordered)
    for prefix, table, _model, ordered in TABLES
]
# the last table's INSERT is the statement; the others run in its WITH
INSERT = text(
    "WITH "
    + ", ".join(f"part{i} AS ({part})" for i, part in enumerate(_PARTS[:-1]))
    + f" {_PARTS[-1]}"
)


def insert_rows(connection: Connection, rows: Sequence[Sequence[dict[str, Any]]]) -> None:
    """Insert ``rows``: the new offers, agent states, routing events and gateway events, in
    that order, each list in submission order (a column a row does not give gets its
    default, as through SQLAlchemy). One round trip; none if there is nothing."""
    if not any(rows):
        return
    parameters: dict[str, list[Any]] = {}
    for (prefix, table, model, _ordered), given in zip(TABLES, rows, strict=True):
        filled = [with_defaults(model, row) for row in given]
        parameters |= array_parameters(table, COLUMNS[prefix], prefix, filled)
    connection.execute(INSERT, parameters)
