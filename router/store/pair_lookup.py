"""Rows found by pairs of values that a two-column unique key indexes.

``(gateway, external_id) IN ((?, ?), ...)`` reads as one condition, but SQLite answers a
row-value IN list by scanning the whole table, and a look-up of identities by ``value``
alone (their key is ``(kind, value)``) scans on both databases: a cost that grows with
every contact ever stored. Grouped by the first column (a run of contacts usually comes
from one gateway and holds a kind or two of identity), each look-up reads the key's index:

- SQLite: ``first = ? AND second IN (?, ...)``, on the driver's cursor (a text per
  number of values, which the driver's statement cache keeps prepared);
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
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, TextClause, text
from sqlalchemy.engine import Connection

from router.store import driver


@dataclass(frozen=True, slots=True)
class PairLookup:
    """The rows (chosen columns) whose ``(first, second)`` is one of the pairs asked for."""

    listed: str  # SQLite: SELECT ... WHERE first = ? AND second IN ({marks})
    probed: TextClause  # one index probe per second (PostgreSQL)

    def rows(
        self, connection: Connection, pairs: Iterable[tuple[str, str]]
    ) -> Iterator[Sequence[Any]]:
        postgres = connection.dialect.name == "postgresql"
        groups: dict[str, set[str]] = {}
        for first, second in pairs:
            groups.setdefault(first, set()).add(second)
        for first, seconds in sorted(groups.items()):
            if postgres:
                parameters = {"first": first, "seconds": sorted(seconds)}
                yield from connection.execute(self.probed, parameters)
            else:  # on the driver's cursor (router/store/driver.py)
                sql = self.listed.format(marks=marks(len(seconds)))
                yield from driver.on_cursor(connection, sql, (first, *sorted(seconds))).rows


@lru_cache(maxsize=64)
def marks(count: int) -> str:
    """SQLite's positional parameters for an ``IN`` list of ``count`` values."""
    return ", ".join("?" * count)


def pair_lookup(table: Table, first: str, second: str, columns: Sequence[str]) -> PairLookup:
    """A look-up of ``columns`` of ``table`` by pairs of (``first``, ``second``), a unique
    key of it."""
    chosen = ", ".join(f'"{name}"' for name in columns)
    listed = (
        f'SELECT {chosen} FROM "{table.name}" WHERE "{first}" = ? AND "{second}" IN ({{marks}})'
    )
    wanted = ", ".join(f"x.{name}" for name in columns)
    probed = text(
        f"SELECT {wanted} FROM unnest(CAST(:seconds AS VARCHAR[])) AS m(second), "
        f"LATERAL (SELECT * FROM {table.name} AS x WHERE x.{first} = :first "
        f"AND x.{second} = m.second OFFSET 0) AS x"
    )
    return PairLookup(listed, probed)
