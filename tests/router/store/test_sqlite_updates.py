"""Many rows updated by one statement on SQLite (router/store/sqlite_updates.py), on a real
SQLite file: the values land as SQLAlchemy would have written them (JSON, booleans, None),
only the rows named change, ``only_if`` filters and counts, and every row goes in one
``executemany``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from router.store.changes import CONTACTS
from router.store.repository import Store
from router.store.sqlite_updates import update_rows
from tests.databases import contact_row


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'updates.db'}")
    try:
        for index in range(6):
            await opened.add_contact(contact_row(f"c{index}", "received"), None)
        yield opened
    finally:
        await opened.close()


async def written(store: Store, rows: list[tuple[Any, dict[str, Any]]], **kwargs: Any) -> int:
    statements: list[str] = []

    def write(connection: Connection) -> int:
        event.listen(
            connection, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0])
        )
        return update_rows(connection, CONTACTS, rows, **kwargs)

    async with store.engine.begin() as connection:
        changed = await connection.run_sync(write)
    assert set(statements) == {"UPDATE"}
    return changed


async def contacts(store: Store) -> dict[str, tuple[Any, ...]]:
    def read(connection: Connection) -> dict[str, tuple[Any, ...]]:
        columns = (CONTACTS.c.state, CONTACTS.c.policy, CONTACTS.c.resolved, CONTACTS.c.outcome)
        rows = connection.execute(select(CONTACTS.c.id, *columns))
        return {row[0]: tuple(row[1:]) for row in rows}

    async with store.engine.connect() as connection:
        return await connection.run_sync(read)


async def test_each_row_gets_its_own_values_in_one_statement(store: Store) -> None:
    before = await contacts(store)
    sales = {"queue": "sales", "skills": ["it"]}
    billing = {"queue": "billing"}
    rows = [
        ("c1", {"state": "ended", "policy": sales, "resolved": True, "outcome": None}),
        ("c2", {"state": "queued", "policy": billing, "resolved": False, "outcome": "x"}),
        ("nobody", {"state": "ended", "policy": {}, "resolved": None, "outcome": None}),
    ]  # fmt: skip
    assert await written(store, rows) == 2
    after = await contacts(store)
    assert after["c1"] == ("ended", {"queue": "sales", "skills": ["it"]}, True, None)
    assert after["c2"] == ("queued", {"queue": "billing"}, False, "x")
    assert {key: after[key] for key in ("c0", "c3", "c4", "c5")} == {
        key: before[key] for key in ("c0", "c3", "c4", "c5")
    }


async def test_only_if_leaves_other_rows_alone_and_counts_what_changed(store: Store) -> None:
    await written(store, [("c1", {"state": "queued"})])
    changed = await written(
        store,
        [("c0", {"state": "ended"}), ("c1", {"state": "ended"}), ("c2", {"state": "ended"})],
        only_if=("state", "received"),
    )
    assert changed == 2
    states = {key: row[0] for key, row in (await contacts(store)).items()}
    assert states == {"c0": "ended", "c1": "queued", "c2": "ended", "c3": "received",
                      "c4": "received", "c5": "received"}  # fmt: skip


async def test_the_rows_are_one_executemany_of_one_prepared_statement(store: Store) -> None:
    calls: list[tuple[str, int, bool]] = []
    rows = [(f"c{index}", {"state": f"s{index}"}) for index in range(5)]

    def write(connection: Connection) -> int:
        def seen(_c: Any, _cursor: Any, sql: str, arguments: Any, _x: Any, many: bool) -> None:
            calls.append((sql, len(arguments), many))

        event.listen(connection, "before_cursor_execute", seen)
        return update_rows(connection, CONTACTS, rows)

    async with store.engine.begin() as connection:
        assert await connection.run_sync(write) == 5
    assert calls == [("UPDATE contacts SET state = ? WHERE id = ?", 5, True)]
    assert {key: row[0] for key, row in (await contacts(store)).items()} == {
        "c0": "s0", "c1": "s1", "c2": "s2", "c3": "s3", "c4": "s4", "c5": "received"
    }  # fmt: skip


async def test_nothing_to_write_sends_nothing(store: Store) -> None:
    statements: list[str] = []

    def write(connection: Connection) -> int:
        event.listen(connection, "before_cursor_execute", lambda *a: statements.append(a[2]))
        return update_rows(connection, CONTACTS, [])

    async with store.engine.begin() as connection:
        assert await connection.run_sync(write) == 0
    assert statements == []
