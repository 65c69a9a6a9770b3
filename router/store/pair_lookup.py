"""Rows found by pairs of values that a two-column unique key indexes.

``(gateway, external_id) IN ((?, ?), ...)`` reads as one condition, but SQLite answers a
row-value IN list by scanning the whole table, and a look-up of identities by ``value``
alone (their key is ``(kind, value)``) scans on both databases: a cost that grows with
every contact ever stored. Grouped by the first column (a run of contacts usually comes
from one gateway and holds a kind or two of identity), each look-up reads the key's index:

- SQLite: ``first = ? AND second IN (...)``;
- PostgreSQL: the seconds as one array, each probed alone through a ``LATERAL`` subquery
  that the planner may not flatten (``OFFSET 0``): ``first = ? AND second = ?`` on a
  unique key is one index probe whatever the planner's statistics say. Without
  statistics (a new table, or autovacuum off) it planned ``first = ? AND second IN
  (...)`` or ``= ANY(...)`` as a read of every row of that gateway or kind, then a filter
  (13 ms for 13,000 identities of one kind, growing with the table). One statement text
  whatever the number of values, so asyncpg prepares it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Table, TextClause, bindparam, select, text
from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class PairLookup:
    """The rows (chosen columns) whose ``(first, second)`` is one of the pairs asked for."""

    listed: Select[Any]  # first = :first AND second IN :seconds (expanding)
    probed: TextClause  # one index probe per second (PostgreSQL)

    def rows(
        self, connection: Connection, pairs: Iterable[tuple[str, str]]
    ) -> Iterator[Sequence[Any]]:
        postgres = connection.dialect.name == "postgresql"
        statement = self.probed if postgres else self.listed
        groups: dict[str, set[str]] = {}
        for first, second in pairs:
            groups.setdefault(first, set()).add(second)
        for first, seconds in sorted(groups.items()):
            yield from connection.execute(statement, {"first": first, "seconds": sorted(seconds)})


def pair_lookup(table: Table, first: str, second: str, columns: Sequence[str]) -> PairLookup:
    """A look-up of ``columns`` of ``table`` by pairs of (``first``, ``second``), a unique
    key of it."""
    listed = select(*(table.c[name] for name in columns)).where(
        table.c[first] == bindparam("first"),
        table.c[second].in_(bindparam("seconds", expanding=True)),
    )
    wanted = ", ".join(f"x.{name}" for name in columns)
    probed = text(
        f"SELECT {wanted} FROM unnest(CAST(:seconds AS VARCHAR[])) AS m(second), "
        f"LATERAL (SELECT * FROM {table.name} AS x WHERE x.{first} = :first "
        f"AND x.{second} = m.second OFFSET 0) AS x"
    )
    return PairLookup(listed, probed)
