"""Lists of values for an expanding ``IN``, padded to a power of two.

SQLAlchemy renders an expanding parameter as one placeholder a value, so each count of
values is a statement text of its own, prepared and cached apart by the driver. Padded
to a power of two, 1 to 64 values make seven texts, which the drivers' caches of
prepared statements (asyncpg's 100 a connection, sqlite3's 128) keep; more values are
looked up in parts of at most ``MOST_IN_ONE``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

MOST_IN_ONE = 64
"""The most values one statement's ``IN`` takes."""


def padded(values: Sequence[str], filler: str) -> list[str]:
    """The values, then ``filler`` (a value that matches nothing) up to a power of two."""
    size = 1
    while size < len(values):
        size *= 2
    return [*values, *[filler] * (size - len(values))]


def padded_parts(values: Sequence[str], filler: str) -> Iterator[list[str]]:
    """The values in parts of at most ``MOST_IN_ONE``, each ``padded``."""
    for start in range(0, len(values), MOST_IN_ONE):
        yield padded(values[start : start + MOST_IN_ONE], filler)
