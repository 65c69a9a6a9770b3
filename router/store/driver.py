"""The journal's hot statements sent through the driver's cursor directly.

A journal batch is a few statements for dozens of units: on PostgreSQL one statement
whose rows travel as JSON, an object a row (new contacts: router/store/pg_take.py;
routing decisions: router/store/pg_changes.py); on SQLite a statement per kind of row,
its rows sent with the stdlib driver's ``executemany`` (router/store/take_batch.py,
change_batch.py, sqlite_updates.py). Through
``Connection.execute`` SQLAlchemy spends more CPU around such a statement than the driver
spends running it: its compiled cache, an execution context, the parameters' processing,
a result object (on PostgreSQL 170 µs against 100 µs of CPU a statement of 40 arrays,
measured with nothing else running; on SQLite, at intake, a third of the journal's
samples). Here the statement is compiled once by the connection's dialect (positional
parameters, in the order it gives), then executed on the DBAPI cursor of the same
connection: on PostgreSQL SQLAlchemy's asyncpg adapter (its prepared statement cache, and
the transaction it begins when the connection is not in autocommit, as through
``Connection.execute``); on SQLite the stdlib driver (its statement cache; the
transaction is the connection's, begun by SQLAlchemy).

What callers see does not change:

- errors are SQLAlchemy's: the driver's own exception, wrapped as ``Connection.execute``
  wraps it (``IntegrityError`` for a unique key, ``DataError``, ``OperationalError``...),
  with ``connection_invalidated`` set for a lost connection;
- ``before_cursor_execute`` and ``after_cursor_execute`` listeners of the connection or its
  engine (instrumentation, the tests' statement counts) are told of the statement;
- parameters are converted by the column types' bind processors, as SQLAlchemy converts
  them (JSON, floats); a text statement's parameters have none (on PostgreSQL the rows'
  JSON is read in the statement itself, router/store/pg_rows.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ClauseElement
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True, slots=True)
class Prepared:
    sql: str
    names: tuple[str, ...]  # the parameters in the order the statement takes them
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # their values, in that order
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, bind processor)
    defaults: tuple[tuple[str, Callable[[], Any]], ...]  # an INSERT's columns rows omit


@dataclass(frozen=True, slots=True)
class Ran:
    rows: Sequence[Sequence[Any]]
    rowcount: int


@lru_cache(maxsize=512)
def compiled(
    statement: ClauseElement, dialect: Dialect, columns: tuple[str, ...] | None = None
) -> Prepared:
    """The statement's text with positional parameters, their names in order and their
    processors. ``columns``: an INSERT's columns given (every row gives these)."""
    keys = list(columns) if columns else None
    done = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=keys))
    names = tuple(done.positiontup or ())
    # (a tuple type's processor would be a sequence of them; none here is one)
    processors = cast(dict[str, Callable[[Any], Any]], done._bind_processors)
    return Prepared(
        done.string,
        names,
        _picker(names),
        tuple((i, processors[name]) for i, name in enumerate(names) if name in processors),
        tuple(
            (name, _default(statement, name))
            for name in names
            if columns is not None and name not in columns
        ),
    )


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(names) > 1:
        return itemgetter(*names)
    return lambda parameters: tuple(parameters[name] for name in names)


def _default(statement: ClauseElement, name: str) -> Callable[[], Any]:
    """The default SQLAlchemy gives an INSERT's column that a row does not give (the
    compiler adds a parameter for such a column only if it has one)."""
    default = statement.table.c[name].default  # type: ignore[attr-defined]
    if default.is_callable:
        return partial(default.arg, None)
    value = default.arg
    return lambda: value


def execute(
    connection: Connection, statement: ClauseElement, parameters: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Run ``statement`` with ``parameters`` on ``connection``; its rows."""
    done = compiled(statement, connection.dialect)
    return on_cursor(connection, done.sql, _arguments(done, parameters)).rows


def execute_many(
    connection: Connection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Run ``statement`` (an INSERT) once per row of ``rows``, in order: one
    ``executemany`` for each run of rows that give the same columns (a column a row does
    not give gets its default). Returns how many rows it changed."""
    changed = 0
    for cut in same_columns(rows):
        done = compiled(statement, connection.dialect, tuple(cut[0]))
        arguments = [_arguments(done, row) for row in cut]
        changed += on_cursor(connection, done.sql, arguments, many=True).rowcount
    return changed


def same_columns(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Consecutive rows cut where their columns change."""
    cuts: list[list[Mapping[str, Any]]] = []
    for row in rows:
        if cuts and cuts[-1][0].keys() == row.keys():
            cuts[-1].append(row)
        else:
            cuts.append([row])
    return cuts


def _arguments(done: Prepared, parameters: Mapping[str, Any]) -> Sequence[Any]:
    if done.defaults:
        parameters = {**parameters, **{name: make() for name, make in done.defaults}}
    values = done.pick(parameters)
    if not done.processors:
        return values
    converted = list(values)
    for position, processor in done.processors:
        converted[position] = processor(converted[position])
    return converted


def on_cursor(connection: Connection, sql: str, arguments: Any, *, many: bool = False) -> Ran:
    """``sql`` (the dialect's own text and parameter style) with ``arguments`` (a sequence
    of them if ``many``) on the connection's DBAPI cursor, as the module says."""
    dialect = connection.dialect
    # SQLAlchemy's own test before it dispatches a connection event: a flag set when a
    # listener is added to the connection or its engine (then each event's listeners are
    # asked; the tests' statement counts listen). Asking the two dispatches every time
    # cost eight Python calls a statement.
    dispatch = (
        connection.dispatch if connection._has_events or connection.engine._has_events else None
    )
    fairy = connection.connection
    cursor = fairy.cursor()
    try:
        if dispatch is not None and dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, many)
        if many:
            cursor.executemany(sql, arguments)
        else:
            cursor.execute(sql, arguments)
        rows = cursor.fetchall() if cursor.description else []
        ran = Ran(rows, cursor.rowcount)
        if dispatch is not None and dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(connection, cursor, sql, arguments, None, many)
    except dialect.loaded_dbapi.Error as error:
        lost = dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(
            sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from error
    finally:
        cursor.close()
    return ran
