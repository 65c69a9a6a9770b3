"""Many rows of one table updated by one statement on SQLite.

    UPDATE contacts SET queue = v.column2, state = v.column3
    FROM (VALUES (?, ?, ?), (?, ?, ?), ...) AS v WHERE contacts.id = v.column1

(Not ``WITH v(...) AS (VALUES ...) UPDATE``: the stdlib driver counts changed rows only for
statements that begin with INSERT, UPDATE, DELETE or REPLACE.)

Why not ``executemany``: the stdlib driver runs it row by row and lets go of the interpreter
lock around each row's reset and step. The journal's thread then has to win the lock back
from the routing loop twice a row: at a shift start (2,000 desktops logging in, 10,000
contacts waiting; bench/intake.py --storm) it switched away 3,000 times a second, and a
journal batch spent about three quarters of its time waiting for the lock, not writing (a
batch of 36 contact updates: 10 ms, 0.8 ms of it on the CPU). One statement is one step.

Every row of a call sets the same columns (the caller groups them). Values are converted
as SQLAlchemy would (the column types' bind processors: JSON, booleans). The statement
needs SQLite 3.33 (``UPDATE ... FROM``); with an older library, or past the library's limit
of parameters, rows are cut into several statements or sent with ``executemany``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Table, bindparam, update
from sqlalchemy.engine import Connection, Dialect

from router.store import driver

UPDATE_FROM = sqlite3.sqlite_version_info >= (3, 33, 0)
# SQLITE_MAX_VARIABLE_NUMBER: 32,766 by default since 3.32, 999 before
MAX_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
MAX_ROWS = 500  # per statement: long enough to matter, short enough to stay cheap to prepare

Processor = Callable[[Any], Any] | None
_processors: dict[tuple[int, int], tuple[Column[Any], Dialect, Processor]] = {}


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
    columns = list(rows[0][1])
    if not UPDATE_FROM:
        return _executemany(connection, table, rows, key, only_if, columns)
    per_statement = max(1, min(MAX_ROWS, (MAX_PARAMETERS - 1) // (len(columns) + 1)))
    changed = 0
    for start in range(0, len(rows), per_statement):
        cut = rows[start : start + per_statement]
        sql, parameters = _statement(connection.dialect, table, cut, key, only_if, columns)
        changed += driver.on_cursor(connection, sql, tuple(parameters)).rowcount
    return changed


def _statement(
    dialect: Dialect,
    table: Table,
    rows: Sequence[tuple[Any, dict[str, Any]]],
    key: str,
    only_if: tuple[str, Any] | None,
    columns: list[str],
) -> tuple[str, list[Any]]:
    quote = dialect.identifier_preparer.quote
    name = dialect.identifier_preparer.format_table(table)
    key_processor = _processor(dialect, table.c[key])
    processors = [_processor(dialect, table.c[column]) for column in columns]
    parameters: list[Any] = []
    for row_key, values in rows:
        parameters.append(key_processor(row_key) if key_processor else row_key)
        for column, processor in zip(columns, processors, strict=True):
            value = values[column]
            parameters.append(processor(value) if processor else value)
    marks = "(" + ", ".join("?" * (len(columns) + 1)) + ")"
    sets = ", ".join(
        f"{quote(table.c[column].name)} = v.column{i + 2}" for i, column in enumerate(columns)
    )
    sql = (
        f"UPDATE {name} SET {sets} FROM (VALUES {', '.join([marks] * len(rows))}) AS v "
        f"WHERE {name}.{quote(table.c[key].name)} = v.column1"
    )
    if only_if is not None:
        column, value = only_if
        processor = _processor(dialect, table.c[column])
        sql += f" AND {name}.{quote(table.c[column].name)} = ?"
        parameters.append(processor(value) if processor else value)
    return sql, parameters


def _executemany(
    connection: Connection,
    table: Table,
    rows: Sequence[tuple[Any, dict[str, Any]]],
    key: str,
    only_if: tuple[str, Any] | None,
    columns: list[str],
) -> int:
    statement = update(table).where(table.c[key] == bindparam("row_key"))
    if only_if is not None:
        statement = statement.where(table.c[only_if[0]] == only_if[1])
    statement = statement.values({column: bindparam(f"new_{column}") for column in columns})
    parameters = [
        {"row_key": row_key, **{f"new_{column}": values[column] for column in columns}}
        for row_key, values in rows
    ]
    return connection.execute(statement, parameters).rowcount


def _processor(dialect: Dialect, column: Column[Any]) -> Processor:
    """The column type's bind processor for this dialect, made once (keyed by identity:
    a Column's ``==`` builds SQL, so it cannot be a dict key itself)."""
    cache_key = (id(column), id(dialect))
    known = _processors.get(cache_key)
    if known is None or known[0] is not column or known[1] is not dialect:
        known = _processors[cache_key] = (column, dialect, column.type.bind_processor(dialect))
    return known[2]
