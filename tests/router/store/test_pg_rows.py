"""Rows through one JSON text (router/store/pg_rows.py), on a real PostgreSQL: every kind
of value the store writes comes back as it went in, in the rows' order."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Float, Integer, MetaData, String, Table, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from router.store.pg_rows import rows_parameter, select_from_rows
from tests.databases import postgres_database

KINDS = Table(
    "kinds",  # never created: the statement only reads the rows
    MetaData(),
    Column("id", String, primary_key=True),
    Column("flag", Boolean, nullable=True),
    Column("count", Integer, nullable=True),
    Column("at", Float, nullable=True),
    Column("note", String, nullable=True),
    Column("detail", JSON, nullable=True),
)
NAMES = ("id", "flag", "count", "at", "note", "detail")
AWKWARD_FLOATS = [
    1764921600.123456,
    0.1 + 0.2,
    1e-300,
    5e-324,
    -0.0,
    1.7976931348623157e308,
    math.inf,
    -math.inf,
]
AWKWARD_TEXTS = [
    "",
    'quote " and \\ backslash',
    "line\nbreak\ttab",
    "àèìòù €, 日本語, 🙂",
    "{not,an,array}",
    "null",
]


@pytest.fixture
async def connection() -> AsyncIterator[AsyncConnection]:
    async with postgres_database() as url:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                yield connection
        finally:
            await engine.dispose()


async def read_back(
    connection: AsyncConnection, rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    statement = text(select_from_rows(KINDS, NAMES, "kinds", ordered=True))
    result = await connection.execute(statement, rows_parameter(KINDS, NAMES, "kinds", rows))
    return [tuple(row) for row in result]


def row(index: int, **values: Any) -> dict[str, Any]:
    return {"id": f"r{index}", "flag": None, "count": None, "at": None, "note": None} | {
        "detail": None,
        **values,
    }


async def test_every_kind_of_value_comes_back_as_it_went_in(
    connection: AsyncConnection,
) -> None:
    rows = [row(i, at=value) for i, value in enumerate(AWKWARD_FLOATS)]
    rows += [row(100 + i, note=value) for i, value in enumerate(AWKWARD_TEXTS)]
    rows += [
        row(200, flag=True, count=2_147_483_647),
        row(201, flag=False, count=-7),
        row(202, detail={"nested": [1, 2.5, None, "€"], "empty": {}}),
        row(203, detail=[]),
        row(204, detail="just text"),
    ]
    back = await read_back(connection, rows)
    assert [value[0] for value in back] == [given["id"] for given in rows]  # their order
    for given, (_id, flag, count, at, note, detail) in zip(rows, back, strict=True):
        assert (flag, count, note) == (given["flag"], given["count"], given["note"])
        assert at == given["at"] and math.copysign(1, at or 1) == math.copysign(1, given["at"] or 1)
        assert detail == given["detail"]  # (SQLAlchemy's dialect has asyncpg decode JSON)


async def test_a_float_json_has_no_number_for_goes_in_as_float8_reads_it(
    connection: AsyncConnection,
) -> None:
    (back,) = await read_back(connection, [row(1, at=math.nan)])
    assert math.isnan(back[3])


async def test_a_json_column_given_none_holds_json_null_not_sql_null(
    connection: AsyncConnection,
) -> None:
    """As the array a column carried it: the JSON columns of the store's rows are not
    nullable, and a row that does not set one in an update still travels with it."""
    select = select_from_rows(KINDS, NAMES, "kinds")
    statement = text(f"SELECT s.detail IS NULL, json_typeof(s.detail) FROM ({select}) AS s")
    parameters = rows_parameter(KINDS, NAMES, "kinds", [row(1, detail=None)])
    assert tuple((await connection.execute(statement, parameters)).one()) == (False, "null")


async def test_500_rows_travel_as_one_parameter_and_come_back_in_order(
    connection: AsyncConnection,
) -> None:
    """One text whatever the number of rows: the statement asyncpg prepared once serves
    every batch."""
    many = [row(i, count=i, at=i / 3) for i in range(500)]
    back = await read_back(connection, many)
    assert [(value[2], value[3]) for value in back] == [(i, i / 3) for i in range(500)]
    single = rows_parameter(KINDS, NAMES, "kinds", many[:1])
    assert set(single) == set(rows_parameter(KINDS, NAMES, "kinds", many)) == {"kinds_rows"}
