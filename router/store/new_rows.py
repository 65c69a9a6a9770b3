"""What was inserted, read back without the database: a row of a model as a plain object."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from types import SimpleNamespace
from typing import Any


def new_row(model: Any, values: dict[str, Any]) -> Any:
    """What was inserted, read like a row of ``model`` (column defaults filled in as a flush
    would): a plain object, not an ORM instance (cheaper; nothing writes through it)."""
    return SimpleNamespace(**with_defaults(model, values))


def with_defaults(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` and every other column of ``model`` with its default (None where it has
    none), as an INSERT through SQLAlchemy would fill them."""
    fixed, made = _column_defaults(model)
    filled = {**fixed, **values}
    for key, make in made:
        if key not in values:
            filled[key] = make(None)
    return filled


@cache
def _column_defaults(
    model: Any,
) -> tuple[dict[str, Any], tuple[tuple[str, Callable[[Any], Any]], ...]]:
    """A model's column defaults: the fixed ones (None where it has none), and the
    callables that make one per row."""
    fixed: dict[str, Any] = {}
    made: list[tuple[str, Callable[[Any], Any]]] = []
    for column in model.__table__.columns:
        default = column.default
        if default is not None and default.is_callable:
            made.append((column.key, default.arg))
        else:
            fixed[column.key] = None if default is None else default.arg
    return fixed, tuple(made)
