"""PostgreSQL: the journal's hot statements sent through the driver's cursor directly.

A journal batch on PostgreSQL is one statement (new contacts: router/store/pg_take.py;
routing decisions: router/store/pg_changes.py), prepared once, whose every row travels as
one array a column: a few dozen parameters. Through ``Connection.execute`` SQLAlchemy
spends more CPU around that statement than asyncpg spends sending it and reading the
reply: its compiled cache, an execution context, the parameters' processing, a result
object (170 µs against 100 µs of CPU a statement of 40 arrays, measured with nothing else
running; the journal runs 1.3 such statements a contact with 2,000 desktops taking the
offers). Here the statement is compiled once by the connection's dialect (positional
``$n`` parameters, in the order it gives), then executed on the DBAPI cursor of the same
connection (SQLAlchemy's asyncpg adapter: its prepared statement cache, and the
transaction it begins when the connection is not in autocommit, as through
``Connection.execute``).

What callers see does not change:

- errors are SQLAlchemy's: the adapter's own exception, wrapped as ``Connection.execute``
  wraps it (``IntegrityError`` for a unique key, ``DataError``, ``OperationalError``...),
  with ``connection_invalidated`` set for a lost connection;
- ``before_cursor_execute`` and ``after_cursor_execute`` listeners of the connection or its
  engine (instrumentation, the tests' statement counts) are told of the statement.

Only for text statements whose parameters need no type processing (arrays cast in the
statement itself, router/store/pg_arrays.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError


@lru_cache(maxsize=512)
def _compiled(statement: TextClause, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The statement's text with positional parameters, and their names in order."""
    compiled = statement.compile(dialect=dialect)
    return compiled.string, tuple(compiled.positiontup or ())


def execute(
    connection: Connection, statement: TextClause, parameters: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    """Run ``statement`` with ``parameters`` on ``connection``; its rows."""
    dialect = connection.dialect
    sql, names = _compiled(statement, dialect)
    arguments = tuple(parameters[name] for name in names)
    dispatch = connection.dispatch
    fairy = connection.connection
    cursor = fairy.cursor()
    try:
        dispatch.before_cursor_execute(connection, cursor, sql, arguments, None, False)
        cursor.execute(sql, arguments)
        rows = cursor.fetchall() if cursor.description else []
        dispatch.after_cursor_execute(connection, cursor, sql, arguments, None, False)
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
    return rows
