"""Several customers' histories read in one go (router/store/histories.py), on real SQLite
and real PostgreSQL: each ask gets what a read of it alone gets, whatever else the read
holds (other customers, the same customer with another contact left out or another
window, a customer with more contacts than a history keeps, more customers than one pair
of statements reads), and the contacts the single read before them gave (``REFERENCE``)."""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select

from router.store.histories import (
    HISTORY_CONTACTS,
    MOST_CUSTOMERS,
    CustomerHistory,
    HistoryAsk,
    read_histories,
    read_histories_kept,
)
from router.store.repository import Store
from router.store.schema import ContactRow, CustomerRow, FeedbackRow, IdentityRow
from tests.router.store.test_store import row

ADA, BRUNO, CARLA = "cust-ada", "cust-bruno", "cust-carla"
# the one-customer read of the thirty-fourth session, ties broken by id as now
REFERENCE = (
    select(ContactRow.id)
    .where(
        ContactRow.customer_id == bindparam("customer"),
        ContactRow.arrival >= bindparam("since"),
        ContactRow.id != bindparam("besides"),
    )
    .order_by(ContactRow.arrival.desc(), ContactRow.id.desc())
    .limit(50)
)


async def reference_ids(store: Store, ask: HistoryAsk) -> tuple[str, ...]:
    values = {"customer": ask.customer_id, "since": ask.since, "besides": ask.besides}
    async with store.engine.connect() as connection:
        return tuple((await connection.execute(REFERENCE, values)).scalars())


async def fill(store: Store) -> None:
    """Ada: a card (a name, two identities), three contacts, one with a CSAT. Bruno: two
    contacts and no customer row. Carla: sixty contacts, one a second."""
    async with store.engine.begin() as connection:
        await connection.execute(
            insert(CustomerRow.__table__), [{"id": ADA, "name": "Ada", "created_at": 1.0}]
        )
        await connection.execute(
            insert(IdentityRow.__table__),
            [
                {"kind": "email", "value": "ada@example.it", "customer_id": ADA, "created_at": 1.0},
                {"kind": "phone", "value": "+390212345678", "customer_id": ADA, "created_at": 1.0},
            ],
        )
    await store.add_contact(
        row(
            "a1",
            "m-a1",
            customer_id=ADA,
            arrival=10.0,
            agent_id="anna",
            state="completed",
            resolved=True,
        )
    )
    await store.add_contact(
        row(
            "a2",
            "m-a2",
            customer_id=ADA,
            arrival=20.0,
            agent_id="bea",
            state="completed",
            resolved=False,
        )
    )
    await store.add_contact(row("a3", "m-a3", customer_id=ADA, arrival=30.0))
    async with store.engine.begin() as connection:
        await connection.execute(
            insert(FeedbackRow.__table__),
            [{"contact_id": "a2", "queue": "billing", "csat": 2, "at": 25.0}],
        )
    for n, arrival in enumerate((15.0, 35.0)):
        await store.add_contact(row(f"b{n}", f"m-b{n}", customer_id=BRUNO, arrival=arrival))
    for n in range(60):
        await store.add_contact(row(f"c{n:02}", f"m-c{n:02}", customer_id=CARLA, arrival=100.0 + n))


async def test_each_ask_read_together_gets_what_it_gets_read_alone(store: Store) -> None:
    await fill(store)
    asks = [
        HistoryAsk(ADA, 0.0, "a3"),
        HistoryAsk(ADA, 15.0),
        HistoryAsk(BRUNO, 0.0, "b1"),
        HistoryAsk(CARLA, 0.0, "c59"),
        HistoryAsk(CARLA, 0.0, "c00"),
        HistoryAsk(CARLA, 150.0),
        HistoryAsk("cust-nobody", 0.0),
    ]
    together = await store.customer_histories(asks)
    alone = [await store.customer_histories([ask]) for ask in asks]
    assert together == [history for [history] in alone]
    assert [history.contact_ids for history in together] == [
        await reference_ids(store, ask) for ask in asks
    ]

    ada, ada_later, bruno, carla, carla_all_new, carla_late, nobody = together
    assert ada.contact_ids == ("a2", "a1")
    assert (ada.name, ada.identities) == ("Ada", ["email:ada@example.it", "phone:+390212345678"])
    assert [line["csat"] for line in ada.recent] == [2, None]
    assert (ada.unresolved, ada.last_agent) == (True, "bea")
    assert ada_later.contact_ids == ("a3", "a2")
    assert (bruno.contact_ids, bruno.name, bruno.identities) == (("b0",), "", [])
    # a history keeps the newest fifty: the one left out makes room for the next
    assert carla.contact_ids == tuple(f"c{n:02}" for n in range(58, 8, -1))
    assert carla_all_new.contact_ids == tuple(f"c{n:02}" for n in range(59, 9, -1))
    assert len(carla.contact_ids) == HISTORY_CONTACTS
    assert carla_late.contact_ids == tuple(f"c{n:02}" for n in range(59, 49, -1))
    assert len(carla.recent) == 5
    assert nobody == CustomerHistory()


async def test_the_driver_reads_what_the_engine_reads(store: Store) -> None:
    """The store reads through the driver on a kept connection (router/store/
    kept_reads.py); the engine's read, for an in-memory database, gives the same
    histories, booleans as bools (SQLite's driver gives 0 and 1)."""
    await fill(store)
    asks = [HistoryAsk(ADA, 0.0), HistoryAsk(BRUNO, 0.0, "b1"), HistoryAsk(CARLA, 120.0)]
    assert store.kept_history_reads is not None
    kept = await read_histories_kept(store.kept_history_reads, asks)
    async with store.engine.connect() as connection:
        engine = await read_histories(connection, asks)
    assert kept == engine
    resolved = [line["resolved"] for history in kept for line in history.recent]
    assert {type(value) for value in resolved} <= {bool, type(None)}
    assert True in resolved and False in resolved


async def test_one_customer_read_as_before(store: Store) -> None:
    await fill(store)
    history = await store.customer_history(ADA, since=0.0, besides="a3")
    assert history == (await store.customer_histories([HistoryAsk(ADA, 0.0, "a3")]))[0]
    assert await store.customer_histories([]) == []


async def test_contacts_that_arrived_at_once_come_in_the_same_order_every_time(
    store: Store,
) -> None:
    for n in range(55):  # more than a history keeps, all at one instant
        await store.add_contact(row(f"t{n:02}", f"m-t{n:02}", customer_id="cust-tie", arrival=5.0))
    asks = [HistoryAsk("cust-tie", 0.0, "t54"), HistoryAsk("cust-tie", 0.0), HistoryAsk(ADA, 0.0)]
    together = await store.customer_histories(asks)
    assert together[0].contact_ids == tuple(f"t{n:02}" for n in range(53, 3, -1))
    assert together[1].contact_ids == tuple(f"t{n:02}" for n in range(54, 4, -1))
    for ask, history in zip(asks, together, strict=True):
        assert history.contact_ids == await reference_ids(store, ask)


async def test_more_customers_than_one_read_takes(store: Store) -> None:
    count = MOST_CUSTOMERS + 5
    for n in range(count):
        await store.add_contact(row(f"x{n:03}", f"m-x{n:03}", customer_id=f"cust-{n:03}"))
    asks = [HistoryAsk(f"cust-{n:03}", 0.0) for n in range(count)]
    histories = await store.customer_histories(asks)
    assert [history.contact_ids for history in histories] == [(f"x{n:03}",) for n in range(count)]
