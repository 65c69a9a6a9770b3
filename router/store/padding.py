"""Lists of values for an expanding ``IN``, padded to a power of two.

SQLAlchemy renders an expanding parameter as one placeholder a value, so each count of
values is a statement text of its own, prepared and cached apart by the driver. Padded
to a power of two, 1 to 64 values make seven texts, which the drivers' caches of
prepared statements (asyncpg's 100 a connection, sqlite3's 128) keep.
"""

from __future__ import annotations

from collections.abc import Sequence


def padded(values: Sequence[str], filler: str) -> list[str]:
    """The values, then ``filler`` (a value that matches nothing) up to a power of two."""
    size = 1
    while size < len(values):
        size *= 2
    return [*values, *[filler] * (size - len(values))]
