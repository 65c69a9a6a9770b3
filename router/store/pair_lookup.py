"""Rows found by pairs of values that a two-column unique key indexes.

``(gateway, external_id) IN ((?, ?), ...)`` reads as one condition, but SQLite answers a
row-value IN list by scanning the whole table, and a look-up of identities by ``value``
alone (their key is ``(kind, value)``) scans on both databases: a cost that grows with
every contact ever stored. Grouped by the first column, each look-up is
``first = ? AND second IN (...)``, which both databases answer from the key's index: one
statement per distinct first value (a run of contacts usually comes from one gateway and
holds a kind or two of identity).

On PostgreSQL the list is one array parameter (``second = ANY(?)``): an IN list of n
values is a statement text of its own for every n, which asyncpg prepares again (a round
trip) for each new length; one text is prepared once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class PairLookup:
    """``columns`` of the rows whose ``(first, second)`` is one of the pairs asked for."""

    listed: Select[Any]  # first = :first AND second IN :seconds (expanding)
    array: Select[Any]  # first = :first AND second = ANY(:seconds) (PostgreSQL)

    def rows(
        self, connection: Connection, pairs: Iterable[tuple[str, str]]
    ) -> Iterator[Sequence[Any]]:
        statement = self.array if connection.dialect.name == "postgresql" else self.listed
        groups: dict[str, set[str]] = {}
        for first, second in pairs:
            groups.setdefault(first, set()).add(second)
        for first, seconds in sorted(groups.items()):
            yield from connection.execute(statement, {"first": first, "seconds": sorted(seconds)})


def pair_lookup(
    first: ColumnElement[Any], second: ColumnElement[Any], *columns: ColumnElement[Any]
) -> PairLookup:
    """A look-up of ``columns`` by pairs of (``first``, ``second``), a unique key."""
    same = first == bindparam("first")
    listed = second.in_(bindparam("seconds", expanding=True))
    array = second == any_(bindparam("seconds", type_=ARRAY(String())))
    return PairLookup(select(*columns).where(same, listed), select(*columns).where(same, array))
