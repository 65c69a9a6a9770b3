"""Plans of received contacts written many at once (router/store/plans.py), on real SQLite
and PostgreSQL: every column of every plan written by one statement, and a plan whose
contact is no longer ``received`` (or a contact planned twice) refused with the run."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from router.store.changes import CONTACTS, ContactPlan, PlanConflict
from router.store.plans import plan_contacts
from router.store.repository import Store
from tests.databases import contact_row


def plan(contact_id: str, queue: str) -> ContactPlan:
    return ContactPlan(
        contact_id,
        {
            "queue": queue,
            "rule": f"rule-{queue}",
            "policy": {"queue": queue, "skills": ["it"]},
            "triage": {"why": f"plan of {contact_id}", "score": 0.5},
            "history_boost": 1.5,
            "preferred_agent": "anna" if queue == "sales" else None,
            "state": "queued",
            "updated_at": 2.0,
        },
    )


async def added(store: Store, *rows: tuple[str, str]) -> None:
    for contact_id, state in rows:
        await store.add_contact(contact_row(contact_id, state), None)


def states(connection: Connection) -> dict[str, tuple[Any, ...]]:
    rows = connection.execute(
        select(
            CONTACTS.c.id,
            CONTACTS.c.state,
            CONTACTS.c.queue,
            CONTACTS.c.rule,
            CONTACTS.c.policy,
            CONTACTS.c.triage,
            CONTACTS.c.history_boost,
            CONTACTS.c.preferred_agent,
            CONTACTS.c.updated_at,
        )
    )
    return {row[0]: tuple(row[1:]) for row in rows}


async def test_a_run_of_plans_is_written_by_one_statement(store: Store) -> None:
    await added(store, ("c1", "received"), ("c2", "received"))
    statements: list[str] = []

    def write(connection: Connection) -> None:
        event.listen(
            connection, "before_cursor_execute", lambda *a: statements.append(a[2].split()[0])
        )
        plan_contacts(connection, [plan("c1", "sales"), plan("c2", "billing")])

    async with store.engine.begin() as connection:
        await connection.run_sync(write)
    # PostgreSQL: the plans are the contacts' update in the WITH of the decisions' statement
    assert statements == ["WITH" if store.engine.dialect.name == "postgresql" else "UPDATE"]
    async with store.engine.connect() as connection:
        rows = await connection.run_sync(states)
    assert rows["c1"] == (
        "queued",
        "sales",
        "rule-sales",
        {"queue": "sales", "skills": ["it"]},
        {"why": "plan of c1", "score": 0.5},
        1.5,
        "anna",
        2.0,
    )
    assert rows["c2"][:3] == ("queued", "billing", "rule-billing") and rows["c2"][6] is None


@pytest.mark.parametrize("second", ["queued", "planned twice"])
async def test_a_plan_of_a_contact_no_longer_received_fails_the_run(
    store: Store, second: str
) -> None:
    await added(store, ("c1", "received"), ("c2", "queued"))
    plans = [plan("c1", "sales"), plan("c2" if second == "queued" else "c1", "billing")]

    def write(connection: Connection) -> None:
        plan_contacts(connection, plans)

    with pytest.raises(PlanConflict):
        async with store.engine.begin() as connection:
            await connection.run_sync(write)
    async with store.engine.connect() as connection:
        rows = await connection.run_sync(states)
    assert rows["c1"][0] == "received" and rows["c2"][0] == "queued"  # nothing written
