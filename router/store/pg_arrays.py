"""PostgreSQL: many rows in one statement whose text does not depend on their number.

Every row goes in as one array per column (``unnest``), so an INSERT of 1 row or of 500 is
the same text, prepared once by asyncpg, and one round trip. JSON travels as text and is
cast in the statement; the arrays' element types follow the columns' types. Used by
router/store/pg_take.py (new contacts) and router/store/pg_changes.py (routing decisions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Float, Integer, Table

from router.store import json_text


def quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def array_type(column: Column[Any]) -> str:
    """The array a column's values travel in (JSON as text, cast in the statement)."""
    kind = column.type
    if isinstance(kind, Boolean):
        return "BOOLEAN[]"
    if isinstance(kind, Integer):
        return "INTEGER[]"
    if isinstance(kind, Float):
        return "FLOAT8[]"
    return "VARCHAR[]"


def select_from_arrays(
    table: Table, names: Sequence[str], prefix: str, *, ordered: bool = False
) -> str:
    """``SELECT <columns cast to the table's types> FROM unnest(<one array a column>)``,
    with ``ordered`` in the arrays' order (an INSERT then draws its serial ids in it)."""
    arrays = ", ".join(f"CAST(:{prefix}_{name} AS {array_type(table.c[name])})" for name in names)
    values = ", ".join(from_array(table, name) for name in names)
    if ordered:
        return (
            f"SELECT {values} FROM unnest({arrays}) WITH ORDINALITY "
            f"AS u({quoted(names)}, ordinal) ORDER BY u.ordinal"
        )
    return f"SELECT {values} FROM unnest({arrays}) AS u({quoted(names)})"


def array_parameters(
    table: Table, names: Sequence[str], prefix: str, rows: Sequence[dict[str, Any]]
) -> dict[str, list[Any]]:
    """The statement's parameters: one list a column (every row must give every column)."""
    return {
        f"{prefix}_{name}": to_array(table, name, [row[name] for row in rows]) for name in names
    }


def from_array(table: Table, name: str) -> str:
    """A column's value in a row ``u`` of ``unnest``, as the column's type (JSON travels as
    text and is cast here)."""
    return f'CAST(u."{name}" AS JSON)' if isinstance(table.c[name].type, JSON) else f'u."{name}"'


def to_array(table: Table, name: str, values: list[Any]) -> list[Any]:
    """A column's values as its array carries them: JSON as its text (None: JSON null)."""
    if isinstance(table.c[name].type, JSON):
        return [json_text.dumps(value) for value in values]
    return values
