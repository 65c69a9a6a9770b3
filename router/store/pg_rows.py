"""PostgreSQL: many rows in one statement whose text does not depend on their number.

Each row of a part goes in as one JSON object, an element of one ``JSON[]`` parameter,
read with the columns' types by ``json_to_record`` (``rows_from``), so an INSERT of 1
row or of 500 is the same text, prepared once by asyncpg, and one round trip. Used by
router/store/pg_take.py (new contacts) and router/store/pg_changes.py (routing decisions).

Until the twenty-first session the rows went in as one array a column (``unnest``).
asyncpg encodes an array element by element, with a type check on each, and a new
contact's INSERT has 30 columns: with nothing else running, a SELECT of 40 one-element
text arrays cost about 140 µs of CPU a call here, the same 40 values as one JSON object
about 70 µs, a statement of nothing 40-55 µs (docs/hot-path-history.md has the figures
of the whole path). The JSON text is made by orjson (router/store/json_text.py).

- The rows are an array, ``unnest``-ed, each row's object read by ``json_to_record``,
  not one JSON array read by ``json_to_recordset``: the planner takes a set-returning
  function for 100 rows, ``unnest`` of a parameter for 10. With 100, the generic plan of
  a batch's UPDATE of contacts joined them by hash over a sequential scan of the table
  (3,000 contacts stored), where with 10 it looks each one up by its key.
- ``json``, not ``jsonb``: a number is read from its text, so a float comes back
  exactly as it went (``jsonb`` keeps numbers as ``numeric``, which has no -0.0).
- A JSON column's value travels as its JSON text, a string inside the object, and is cast
  in the statement (``from_row``): a JSON ``null`` read into a JSON-typed column of the
  record would come out SQL NULL, where the column holds JSON ``null``.
- A float that JSON cannot write (infinite, not a number) travels as the string
  PostgreSQL's ``float8`` reads (``'Infinity'``, ``'-Infinity'``, ``'NaN'``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, Integer, Table

from router.store import json_text

Typed = Sequence[tuple[str, str]]
"""The columns of a record, in order: (name, SQL type)."""


def quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def value_type(column: Column[Any]) -> str:
    """The type a column's values are read as from the JSON (JSON as text, cast later)."""
    kind = column.type
    if isinstance(kind, Boolean):
        return "BOOLEAN"
    if isinstance(kind, Integer):
        return "INTEGER"
    if isinstance(kind, Float):
        return "FLOAT8"
    return "VARCHAR"


def rows_from(typed: Typed, prefix: str, *, ordered: bool = False) -> str:
    """The ``FROM`` item of the rows in parameter ``:<prefix>_rows``, as ``u``; ``ordered``
    adds ``r.ordinal``, each row's place in the array."""
    record = ", ".join(f'"{name}" {kind}' for name, kind in typed)
    rows = f"unnest(CAST(:{prefix}_rows AS JSON[]))"
    alias = "r(j, ordinal)" if ordered else "r(j)"
    ordinality = " WITH ORDINALITY" if ordered else ""
    return f"{rows}{ordinality} AS {alias} CROSS JOIN LATERAL json_to_record(r.j) AS u({record})"


def select_from_rows(
    table: Table, names: Sequence[str], prefix: str, *, ordered: bool = False
) -> str:
    """``SELECT <columns as the table's types> FROM <the rows>``, with ``ordered`` in the
    rows' order (an INSERT then draws its serial ids in it)."""
    typed = [(name, value_type(table.c[name])) for name in names]
    values = ", ".join(from_row(table, name) for name in names)
    select = f"SELECT {values} FROM {rows_from(typed, prefix, ordered=ordered)}"
    return f"{select} ORDER BY r.ordinal" if ordered else select


def from_row(table: Table, name: str) -> str:
    """A column's value in a row ``u``, as the column's type (JSON travels as text and is
    cast here)."""
    return f'CAST(u."{name}" AS JSON)' if isinstance(table.c[name].type, JSON) else f'u."{name}"'


def rows_parameter(
    table: Table, names: Sequence[str], prefix: str, rows: Sequence[dict[str, Any]]
) -> dict[str, list[str]]:
    """The statement's parameter ``<prefix>_rows``: each row's JSON (every row must give
    every column)."""
    return {f"{prefix}_rows": [row_text(table, names, {n: row[n] for n in names}) for row in rows]}


def row_text(table: Table, names: Sequence[str], record: dict[str, Any]) -> str:
    """One row's JSON: ``record`` (its values of ``names``, and any other keys the statement
    reads, such as flags), the JSON columns' values as their text and the floats JSON has
    no number for as ``float8``'s text (``record`` is changed in place)."""
    json_names, float_names = _kinds(table, tuple(names))
    for name in json_names:
        record[name] = json_text.dumps(record[name])
    for name in float_names:
        record[name] = carried_float(record[name])
    return json_text.dumps(record)


def carried_float(value: Any) -> Any:
    """A float as the JSON carries it: itself, or the text ``float8`` reads if JSON has no
    number for it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


@lru_cache(maxsize=64)
def _kinds(table: Table, names: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """Of ``names``, the JSON columns and the float columns."""
    json_names = [name for name in names if isinstance(table.c[name].type, JSON)]
    float_names = [name for name in names if isinstance(table.c[name].type, Float)]
    return json_names, float_names
