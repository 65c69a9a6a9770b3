"""Row changes of many journal units written together (router/store/change_batch.py): the
same rows as writing each change in turn, in a handful of statements, on real SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from sqlalchemy import create_engine, event, insert, select, text
from sqlalchemy.engine import Connection

from router.store import pg_take
from router.store.change_batch import ChangeSet, changes_work, write_changes
from router.store.changes import (
    AGENT_STATES,
    CONTACTS,
    EVENTS,
    OFFERS,
    OUTBOX,
    AgentStateInsert,
    ContactPlan,
    ContactUpdate,
    EventInsert,
    OfferInsert,
    OfferUpdate,
    OutboxInsert,
    PlanConflict,
)
from router.store.errors import StoreError
from router.store.new_rows import with_defaults
from router.store.repository import Store
from router.store.schema import Base, ContactRow
from tests.databases import (
    contact_row,
    driver_transactions,
    journal_statements,
    left_in_transaction,
)


def offer(offer_id: str, contact_id: str, agent: str) -> OfferInsert:
    return OfferInsert(
        {
            "id": offer_id,
            "contact_id": contact_id,
            "agent_id": agent,
            "made_at": 2.0,
            "expires_at": 32.0,
            "explanation": {},
        }
    )


def outbox(event_id: str, contact_id: str) -> OutboxInsert:
    return OutboxInsert(
        {"event_id": event_id, "contact_id": contact_id, "type": "t", "at": 2.0, "payload": {}}
    )


def plan(contact_id: str) -> ContactPlan:
    values = {
        "queue": "sales",
        "rule": "r2",
        "policy": {},
        "triage": {},
        "history_boost": 0.0,
        "preferred_agent": None,
        "state": "queued",
        "updated_at": 2.0,
    }
    return ContactPlan(contact_id, values)


# A shift start in miniature: offers made, taken by an update of the offer in a later unit,
# contacts updated several times (the last value wins), events and gateway events in order.
UNITS = [
    [plan("c3"), EventInsert("c3", 2.0, "queued", {"n": 1}), outbox("e1", "c3")],
    [
        offer("o1", "c1", "anna"),
        ContactUpdate("c1", {"state": "offered", "agent_id": "anna", "updated_at": 2.0}),
        EventInsert("c1", 2.0, "offered", {"n": 2}),
        outbox("e2", "c1"),
    ],
    [
        offer("o2", "c2", "bruno"),
        ContactUpdate("c2", {"state": "offered", "agent_id": "bruno", "updated_at": 2.0}),
        EventInsert("c2", 2.0, "offered", {"n": 3}),
    ],
    [
        OfferUpdate("o1", {"outcome": "accepted", "closed_at": 3.0}),
        ContactUpdate("c1", {"state": "assigned", "updated_at": 3.0}),
        EventInsert("c1", 3.0, "assigned", {"n": 4}),
        outbox("e3", "c1"),
    ],
    [
        OfferUpdate("o2", {"outcome": "rejected", "closed_at": 3.0, "reason": "busy"}),
        ContactUpdate("c2", {"state": "queued", "agent_id": None, "updated_at": 3.0}),
        offer("o3", "c2", "carla"),
        EventInsert("c2", 3.0, "offered", {"n": 5}),
    ],
]


def expected_rows() -> dict[str, Any]:
    return {
        "contacts": {
            ("c1", "assigned", "anna", "billing", 3.0),
            ("c2", "queued", None, "billing", 3.0),
            ("c3", "queued", None, "sales", 2.0),
        },
        "offers": {
            ("o1", "c1", "anna", "accepted", "", 3.0),
            ("o2", "c2", "bruno", "rejected", "busy", 3.0),
            ("o3", "c2", "carla", None, "", None),
        },
        "events": [1, 2, 3, 4, 5],
        "outbox": ["e1", "e2", "e3"],
    }


def rows_of(connection: Connection) -> dict[str, Any]:
    contacts = connection.execute(
        select(
            CONTACTS.c.id,
            CONTACTS.c.state,
            CONTACTS.c.agent_id,
            CONTACTS.c.queue,
            CONTACTS.c.updated_at,
        )
    )
    offers = connection.execute(
        select(
            OFFERS.c.id,
            OFFERS.c.contact_id,
            OFFERS.c.agent_id,
            OFFERS.c.outcome,
            OFFERS.c.reason,
            OFFERS.c.closed_at,
        )
    )
    events = connection.execute(select(EVENTS.c.detail).order_by(EVENTS.c.id))
    sent = connection.execute(select(OUTBOX.c.event_id).order_by(OUTBOX.c.seq))
    return {
        "contacts": {tuple(row) for row in contacts},
        "offers": {tuple(row) for row in offers},
        "events": [detail["n"] for (detail,) in events],
        "outbox": list(sent.scalars()),
    }


def sqlite_with_contacts() -> Connection:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    connection = engine.connect()
    connection.execute(
        insert(CONTACTS),
        [contact_row("c1"), contact_row("c2"), contact_row("c3", "received")],
    )
    return connection


def test_grouped_changes_write_the_rows_of_changes_written_in_turn() -> None:
    grouped, in_turn = sqlite_with_contacts(), sqlite_with_contacts()
    write_changes(grouped, UNITS)
    for changes in UNITS:
        for change in changes:
            ChangeSet([change])(in_turn)
    assert rows_of(grouped) == rows_of(in_turn) == expected_rows()


def test_a_batch_of_units_costs_one_statement_per_kind_of_row() -> None:
    connection = sqlite_with_contacts()
    statements: list[str] = []
    event.listen(
        connection,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_rest: statements.append(statement.split()[0]),
    )
    write_changes(connection, UNITS)
    # the plan alone (its row count matters), then one statement each for the offers (their
    # updates merged: they were inserted in the same batch), the contacts, the events and
    # the gateway events
    kinds = sorted(statements)
    assert kinds.count("INSERT") == 3 and kinds.count("UPDATE") == 1 + 1
    assert len(statements) == 5  # the 17 changes written one by one would take 17


def test_a_plan_after_an_update_of_its_contact_keeps_the_order() -> None:
    connection = sqlite_with_contacts()
    received_again = ContactUpdate("c3", {"state": "received", "updated_at": 1.5})
    write_changes(connection, [[ContactUpdate("c3", {"updated_at": 1.5})], [plan("c3")]])
    assert connection.execute(select(CONTACTS.c.state).where(CONTACTS.c.id == "c3")).scalar() == (
        "queued"
    )
    with pytest.raises(PlanConflict):  # planned already: the order says the plan fails
        write_changes(connection, [[received_again, plan("c3")], [plan("c3")]])


@pytest.mark.parametrize("fenced", [False, True], ids=["alone", "fenced"])
async def test_units_committed_in_one_batch_are_written_together(
    store: Store, fenced: bool
) -> None:
    """``fenced``: a router fence claimed (several nodes), on PostgreSQL the batch's one
    statement holds it (router/store/pg_fence.py)."""
    for contact_id in ("c1", "c2"):
        await store.add_contact(contact_row(contact_id), None)
    await store.add_contact(contact_row("c3", "received"), None)
    if fenced:
        await store.claim_fence("default", 1)
    await asyncio.gather(*(store.commit(changes_work(changes)) for changes in UNITS))
    async with store.engine.connect() as connection:
        assert await connection.run_sync(rows_of) == expected_rows()


@pytest.mark.parametrize("fenced", [False, True], ids=["alone", "fenced"])
async def test_on_postgresql_a_batch_writes_its_rows_in_one_statement(
    store: Store, fenced: bool
) -> None:
    """One statement; in a transaction (its COMMIT to come after it), but with a router
    fence claimed in autocommit, the fence's check a part of the statement."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no round trips to save: one statement a kind of row")
    for contact_id in ("c1", "c2"):
        await store.add_contact(contact_row(contact_id), None)
    await store.add_contact(contact_row("c3", "received"), None)
    if fenced:
        await store.claim_fence("default", 1)
    with journal_statements(store) as statements, left_in_transaction(store) as left:
        await asyncio.gather(*(store.commit(changes_work(changes)) for changes in UNITS))
    # the plan, the offers, events and gateway events and the contacts' updates: one
    # statement whose WITH holds them all (and the fence)
    assert statements == ["WITH"]
    assert left == [not fenced]
    async with store.engine.connect() as connection:
        assert await connection.run_sync(rows_of) == expected_rows()


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_a_plan_and_the_updates_that_follow_it_are_one_row_of_the_statement(
    store: Store,
) -> None:
    """A contact planned, then offered, in one batch: one statement, the plan's columns and
    the offer's update both written."""
    await store.add_contact(contact_row("c1", "received"), None)
    offered = ContactUpdate("c1", {"state": "offered", "agent_id": "anna", "updated_at": 3.0})
    with journal_statements(store) as statements:
        await asyncio.gather(
            store.commit(changes_work([plan("c1")])),
            store.commit(changes_work([offer("o1", "c1", "anna"), offered])),
        )
    assert statements == ["WITH"]
    async with store.engine.connect() as connection:
        rows = await connection.run_sync(rows_of)
    assert rows["contacts"] == {("c1", "offered", "anna", "sales", 3.0)}
    assert rows["offers"] == {("o1", "c1", "anna", None, "", None)}


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_a_plan_after_an_update_of_its_contact_is_a_second_statement(
    store: Store,
) -> None:
    """An update of a contact, then its plan: the plan must see the update, so the batch is
    two statements, in one transaction (BEGIN sent), and the order holds."""
    await store.add_contact(contact_row("c1", "received"), None)
    with journal_statements(store) as statements, driver_transactions(store) as inside:
        await asyncio.gather(
            store.commit(changes_work([ContactUpdate("c1", {"urgency": 0.5})])),
            store.commit(changes_work([plan("c1")])),
        )
    assert statements == ["WITH", "WITH"] and True in inside
    async with store.engine.connect() as connection:
        state = (await connection.execute(select(CONTACTS.c.state, CONTACTS.c.urgency))).one()
    assert tuple(state) == ("queued", 0.5)


@pytest.mark.parametrize("fenced", [False, True], ids=["alone", "fenced"])
async def test_a_plan_refused_fails_its_unit_alone_and_nothing_of_the_first_try_stays(
    store: Store, fenced: bool
) -> None:
    """A batch whose plan finds its contact no longer ``received``: the batch is rolled
    back (with a fence, on PostgreSQL, its one statement fails from inside), each unit
    runs again alone, and only the plan's unit fails; the other units' rows are written
    once."""
    await store.add_contact(contact_row("c1"), None)  # queued already
    await store.add_contact(contact_row("c2"), None)
    if fenced:
        await store.claim_fence("default", 1)
    outcomes = await asyncio.gather(
        store.commit(changes_work([EventInsert("c2", 2.0, "a", {"n": 1}), outbox("e1", "c2")])),
        store.commit(changes_work([plan("c1"), EventInsert("c1", 2.0, "b", {"n": 2})])),
        store.commit(changes_work([offer("o1", "c2", "anna"), outbox("e2", "c2")])),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], StoreError)
    async with store.engine.connect() as connection:
        rows = await connection.run_sync(rows_of)
    assert rows["events"] == [1] and rows["outbox"] == ["e1", "e2"]
    assert {row[0] for row in rows["offers"]} == {"o1"}
    assert ("c1", "queued", None, "billing", 1.0) in rows["contacts"]


async def test_updates_with_other_columns_each_set_only_their_own(store: Store) -> None:
    """Contacts and offers updated in one batch with different columns (on PostgreSQL one
    statement, each column flagged per row): each row gets its own columns, None and JSON
    values included, and keeps the others."""
    for contact_id in ("c1", "c2", "c3"):
        await store.add_contact(contact_row(contact_id), None)
    await store.commit(changes_work([offer("o1", "c1", "anna"), offer("o2", "c2", "bruno")]))
    units = [
        [ContactUpdate("c1", {"urgency": 0.75})],
        [
            ContactUpdate(
                "c2",
                {"state": "completed", "resolved": True, "excluded_agents": ["anna"], "notes": "x"},
            )
        ],
        [ContactUpdate("c3", {"agent_id": "carla"}), ContactUpdate("c3", {"agent_id": None})],
        [OfferUpdate("o1", {"outcome": "accepted", "closed_at": 3.0})],
        [OfferUpdate("o2", {"reason": "busy"})],
        [offer("o3", "c3", "carla"), OfferUpdate("o3", {"outcome": "expired"})],
    ]
    with journal_statements(store) as statements:
        await asyncio.gather(*(store.commit(changes_work(changes)) for changes in units))
    if store.engine.dialect.name == "postgresql":
        assert statements == ["WITH"]
    columns = (
        CONTACTS.c.id,
        CONTACTS.c.state,
        CONTACTS.c.urgency,
        CONTACTS.c.resolved,
        CONTACTS.c.excluded_agents,
        CONTACTS.c.notes,
        CONTACTS.c.agent_id,
        CONTACTS.c.updated_at,
    )
    async with store.engine.connect() as connection:
        contacts = {row[0]: tuple(row[1:]) for row in await connection.execute(select(*columns))}
        offers = {
            row[0]: tuple(row[1:])
            for row in await connection.execute(
                select(OFFERS.c.id, OFFERS.c.outcome, OFFERS.c.reason, OFFERS.c.closed_at)
            )
        }
    assert contacts == {
        "c1": ("queued", 0.75, None, [], "", None, 1.0),
        "c2": ("completed", 0.0, True, ["anna"], "x", None, 1.0),
        "c3": ("queued", 0.0, None, [], "", None, 1.0),
    }
    assert offers == {
        "o1": ("accepted", "", 3.0),
        "o2": (None, "busy", None),
        "o3": ("expired", "", None),
    }


async def test_serial_ids_follow_the_order_the_rows_were_submitted(store: Store) -> None:
    await store.add_contact(contact_row("c1"), None)
    numbers = list(range(300))
    await store.commit(
        changes_work(
            [EventInsert("c1", 2.0, "note", {"n": n}) for n in numbers]
            + [outbox(f"e{n}", "c1") for n in numbers]
            + [
                AgentStateInsert({"agent_id": "anna", "at": float(n), "presence": "available"})
                for n in numbers
            ]
        )
    )
    async with store.engine.connect() as connection:
        rows = await connection.run_sync(rows_of)
        states = (
            await connection.execute(select(AGENT_STATES.c.at).order_by(AGENT_STATES.c.id))
        ).scalars()
        kinds = set((await connection.execute(select(AGENT_STATES.c.kind))).scalars())
    assert rows["events"] == numbers
    assert rows["outbox"] == [f"e{n}" for n in numbers]
    assert list(states) == [float(n) for n in numbers]
    assert kinds == {"state"}  # a column not given: its default


async def test_one_refused_unit_among_grouped_ones_is_answered_alone(store: Store) -> None:
    await store.add_contact(contact_row("c1"), None)
    await store.commit(changes_work([offer("o1", "c1", "anna")]))
    outcomes = await asyncio.gather(
        store.commit(changes_work([EventInsert("c1", 2.0, "a", {"n": 1})])),
        store.commit(changes_work([offer("o1", "c1", "bruno")])),  # the offer id is taken
        store.commit(changes_work([EventInsert("c1", 2.0, "b", {"n": 2})])),
        return_exceptions=True,
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], StoreError)
    async with store.engine.connect() as connection:
        details = (await connection.execute(select(EVENTS.c.detail).order_by(EVENTS.c.id))).all()
    assert [detail["n"] for (detail,) in details] == [1, 2]


async def test_an_update_carries_json_and_a_float_json_has_no_number_for(store: Store) -> None:
    """On PostgreSQL an update's rows travel as JSON (router/store/pg_rows.py): a JSON
    column's value and an infinite float still arrive as they were given."""
    await store.add_contact(contact_row("c1"), None)
    await store.commit(changes_work([offer("o1", "c1", "anna")]))
    given = {"urgency": math.inf, "excluded_agents": ["anna", 'b"o\\'], "notes": "ciao\n€"}
    await store.commit(changes_work([ContactUpdate("c1", given)]))
    await store.commit(changes_work([OfferUpdate("o1", {"closed_at": -math.inf})]))
    columns = (CONTACTS.c.urgency, CONTACTS.c.excluded_agents, CONTACTS.c.notes)
    async with store.engine.connect() as connection:
        row = (await connection.execute(select(*columns))).one()
        closed_at = (await connection.execute(select(OFFERS.c.closed_at))).scalar_one()
    assert tuple(row) == (math.inf, ["anna", 'b"o\\'], "ciao\n€")
    assert closed_at == -math.inf


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
async def test_the_update_of_a_batch_looks_each_contact_up_by_its_key(store: Store) -> None:
    """asyncpg prepares a batch's statement once, and PostgreSQL soon plans it without the
    rows (a generic plan). With 3,000 contacts stored, that plan must look each updated
    contact up by its key: a row estimate of a set-returning function's 100 (as
    ``json_to_recordset`` gave) made it a hash join over a scan of the whole table."""
    rows = [with_defaults(ContactRow, contact_row(f"c{i}")) for i in range(3000)]
    async with store.engine.begin() as connection:
        await connection.run_sync(lambda sync: pg_take.insert(sync, [], [], rows))
        await connection.execute(text("ANALYZE contacts"))
    sent: list[tuple[str, Any]] = []
    engine = store.journal._engine.sync_engine

    def seen(_connection: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        await store.commit(changes_work([ContactUpdate("c5", {"state": "offered"})]))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    (statement, parameters), *_ = [(s, p) for s, p in sent if s.startswith("WITH")]
    async with store.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).dbapi_connection.driver_connection
        await raw.execute("SET plan_cache_mode = force_generic_plan")
        plan = "\n".join(row[0] for row in await raw.fetch(f"EXPLAIN {statement}", *parameters))
    assert "Index Scan using contacts_pkey" in plan, plan
    assert "Seq Scan on contacts" not in plan, plan
