"""Many rows of one table updated by one prepared statement on SQLite.

    UPDATE contacts SET queue = ?, state = ? WHERE id = ? [AND state = ?]

sent once for all the rows with the stdlib driver's ``executemany``, on the DBAPI cursor
(router/store/driver.py): SQLite prepares it once and its statement cache keeps it, and
each row is a bind and a step. Every row of a call sets the same columns (the caller
groups them). Values are converted as SQLAlchemy would (the column types' bind
processors: JSON, booleans).

Until the seventeenth session the rows were one ``UPDATE ... FROM (VALUES (?, ?, ?),
...)``, a text as long as the batch, parsed and prepared anew for each batch. It was
chosen while the journal's statements ran in a thread of its own: the driver lets go of
the interpreter lock around each row of an ``executemany``, and that thread had to win it
back from the routing loop every time (docs/hot-path-history.md). The statements now run
on the loop, and the journal's thread (the commit) is idle meanwhile, so no other thread
waits for the lock. With nothing else running (``bench/take_batch.py``, 24 units a
batch, four alternating runs each): offers made 1.75 against 1.88 ms of CPU a batch,
contacts routed 1.97 against 2.06 ms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect

from router.store import driver

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    processors: tuple[Processor, ...]  # the set columns', in order
    key_processor: Processor
    condition_processor: Processor


def update_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[tuple[Any, dict[str, Any]]],
    *,
    key: str = "id",
    only_if: tuple[str, Any] | None = None,
) -> int:
    """Set ``values`` on the row whose ``key`` column is ``row_key``, for each
    ``(row_key, values)`` of ``rows`` (all setting the same columns, keys distinct), where
    the row also has ``only_if`` (column, value) if given. Returns how many rows changed."""
    if not rows:
        return 0
    columns = tuple(rows[0][1])
    condition = only_if[0] if only_if is not None else None
    prepared = _prepared(connection.dialect, table, columns, key, condition)
    processors, key_processor = prepared.processors, prepared.key_processor
    tail: tuple[Any, ...] = ()
    if only_if is not None:
        processor = prepared.condition_processor
        tail = (processor(only_if[1]) if processor else only_if[1],)
    arguments = []
    for row_key, values in rows:
        row = [
            values[column] if processor is None else processor(values[column])
            for column, processor in zip(columns, processors, strict=True)
        ]
        row.append(row_key if key_processor is None else key_processor(row_key))
        arguments.append((*row, *tail))
    return driver.on_cursor(connection, prepared.sql, arguments, many=True).rowcount


@lru_cache(maxsize=256)
def _prepared(
    dialect: Dialect, table: Table, columns: tuple[str, ...], key: str, condition: str | None
) -> _Prepared:
    """The statement and the columns' bind processors, made once for each table, set of
    columns and condition (a batch asks for the same few again and again)."""
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    sets = ", ".join(f"{quote(table.c[column].name)} = ?" for column in columns)
    sql = f"UPDATE {name} SET {sets} WHERE {quote(table.c[key].name)} = ?"
    if condition is not None:
        sql += f" AND {quote(table.c[condition].name)} = ?"

    def processor(column: str) -> Processor:
        return table.c[column].type.bind_processor(dialect)

    return _Prepared(
        sql,
        tuple(processor(column) for column in columns),
        processor(key),
        None if condition is None else processor(condition),
    )
