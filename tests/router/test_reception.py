"""The two halves of intake apart (several nodes): a node's reception stores a contact as
``received``; the router plans and routes it from its row, once, whoever asks (the node's
command, the same command applied again after a take-over, the take-over's backlog, a
sweep). Real SQLite and PostgreSQL; the engine on an injected clock."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from channels.contact import CustomerRef, InboundContact
from router.customer_changes import CustomerChange
from router.engine import Engine
from router.intake import Intake
from router.reception import Reception, received_from_row
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.changes import CONTACTS
from router.store.new_rows import new_row
from router.store.repository import Store
from router.store.schema import ContactRow, OutboxEventRow
from skills.vocabulary import Channel
from tests.databases import database
from tests.engine_helpers import RULES

NOW = 1_800_000_000.0


@dataclass
class Halves:
    node: Reception  # what a node runs (its own caches)
    store: Store
    intake: Intake  # the router's

    async def receive(self, message_id: str, **fields: object) -> ContactRow:
        """A node's side: triage, customer, and the contact stored as ``received``."""
        inbound = InboundContact(
            gateway="gw",
            external_id=message_id,
            channel=Channel.CHAT,
            customer=CustomerRef(email="lucia@example.it", name="Lucia"),
            text="Non riesco a pagare la bolletta, è urgente!",
            language="it",
            **fields,  # type: ignore[arg-type]
        )
        _received, taken = await self.node.take(inbound, f"c-{message_id}", "default", NOW)
        assert taken.created
        row = await self.store.contact(taken.contact_id)
        assert row is not None
        return row

    async def count(self, model: type, *where: object) -> int:
        async with self.store._sessions() as session:
            return int(
                (
                    await session.execute(select(func.count()).select_from(model).where(*where))
                ).scalar_one()
            )  # type: ignore[arg-type]


async def no_publish(_change: CustomerChange) -> None:
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
async def halves(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Halves]:
    async with database(request.param, tmp_path) as url:
        store = await Store.open(url)
        runtime = RouterRuntime(Engine(RULES.config), store, clock=lambda: NOW + 1)
        await runtime.start()
        try:
            yield Halves(
                Reception(store.received, RULES.config, no_publish),
                store,
                Intake(runtime, Planner(RULES)),
            )
            await runtime.recorder.flush()
        finally:
            await runtime.stop()
            await store.close()


async def test_the_router_plans_a_received_contact_from_its_row_alone(halves: Halves) -> None:
    row = await halves.receive("m1", intent="billing", attributes={"vip": True})
    assert row.state == "received" and row.queue == ""
    # the node's command carries the row as stored; the router reads nothing
    sent = new_row(ContactRow, {c.name: getattr(row, c.name) for c in ContactRow.__table__.c})
    result = await halves.intake.route_received(sent)
    assert result.created and result.queue == "billing" and result.state == "queued"
    live = halves.intake.runtime.engine.contacts[row.id]
    assert live.policy.rule == "vip-billing" and live.arrival == NOW  # the node's arrival
    stored = await halves.intake.runtime.stored_contact(row.id)
    assert stored is not None and stored.state == "queued" and stored.queue == "billing"
    assert stored.triage["rule"] == "vip-billing" and stored.triage["emotion"]["label"]
    assert stored.triage["identities"] == ["email:lucia@example.it"]
    announced = OutboxEventRow.contact_id == row.id, OutboxEventRow.type == "contact.queued"
    assert await halves.count(OutboxEventRow, *announced) == 1


async def test_a_reception_survives_the_trip_through_the_row(halves: Halves) -> None:
    inbound = InboundContact(
        gateway="gw",
        external_id="m2",
        channel=Channel.EMAIL,
        customer=CustomerRef(email="lucia@example.it", name="Lucia", verified=False, id="u1"),
        subject="Bolletta",
        text="Sono furiosa, vergognatevi",
        language="it",
        intent="billing",
    )
    received, taken = await halves.node.take(inbound, "c-m2", "default", NOW)
    assert taken.created and taken.row is not None
    assert received.customer_id is not None  # an unverified customer of its own
    back = received_from_row(new_row(ContactRow, taken.row))
    stored = await halves.store.contact("c-m2")
    assert stored is not None and received_from_row(stored) == back
    assert back.triage == received.triage
    assert back.identities == received.identities
    assert (back.customer_id, back.known_customer, back.linked) == (
        received.customer_id,
        received.known_customer,
        received.linked,
    )
    assert back.inbound.customer == received.inbound.customer
    assert (back.inbound.subject, back.inbound.text) == (inbound.subject, inbound.text)


async def test_routing_the_same_received_contact_twice_at_once_routes_it_once(
    halves: Halves,
) -> None:
    row = await halves.receive("m3", intent="billing")
    first, second = await asyncio.gather(
        halves.intake.route_received(row), halves.intake.route_received(row, check=True)
    )
    assert first.contact_id == second.contact_id == row.id
    assert len(halves.intake.runtime.engine.contacts) == 1
    await halves.intake.runtime.recorder.flush()  # the plan is written like a decision
    announced = OutboxEventRow.contact_id == row.id, OutboxEventRow.type == "contact.queued"
    assert await halves.count(OutboxEventRow, *announced) == 1


async def test_a_command_applied_again_after_the_contact_finished_routes_nothing(
    halves: Halves,
) -> None:
    row = await halves.receive("m4", intent="billing")
    await halves.intake.route_received(row)
    runtime = halves.intake.runtime
    runtime.submit(lambda now: runtime.engine.abandon(row.id, now))  # the customer left
    await runtime.recorder.flush()
    # a new router (an empty engine) gets the node's command again from the stream
    runtime.engine = Engine(RULES.config)
    again = await halves.intake.route_received(row, check=True)
    assert again.state == "abandoned" and not again.created
    assert row.id not in runtime.engine.contacts


async def test_the_backlog_and_the_sweep_route_received_contacts_nobody_asked_for(
    halves: Halves,
) -> None:
    rows = [await halves.receive(f"b{n}", intent="billing") for n in range(3)]
    assert await halves.intake.route_backlog(before=NOW - 1) == 0  # too fresh for a sweep
    assert await halves.intake.route_backlog(before=NOW + 1) == 3
    assert {row.id for row in rows} <= set(halves.intake.runtime.engine.contacts)
    assert await halves.intake.route_backlog() == 0  # nothing received is left
    received = ContactRow.state == "received"
    await halves.intake.runtime.recorder.flush()
    assert await halves.count(ContactRow, received) == 0


async def test_a_plan_the_record_refuses_makes_the_router_reload_from_the_record(
    halves: Halves,
) -> None:
    row = await halves.receive("m5", intent="billing")
    finished = update(CONTACTS).where(CONTACTS.c.id == row.id).values(state="abandoned")
    await halves.store.commit(lambda connection: connection.execute(finished))
    runtime = halves.intake.runtime
    await halves.intake.route_received(row)  # the engine routes it at once ...
    assert row.id in runtime.engine.contacts
    deadline = time.monotonic() + 30
    while runtime.reloads == 0:  # ... the record refuses the plan: reload from the record
        assert time.monotonic() < deadline, "the router should reload from the record"
        await asyncio.sleep(0.01)
    assert row.id not in runtime.engine.contacts
    assert not runtime.recorder.diverged  # acknowledging again


async def test_the_identity_cache_holds_nothing_the_collector_walks(halves: Halves) -> None:
    """100,000 cached identities are walked by every collection if they are objects the
    collector tracks; tuples of two strings it stops tracking the first time it sees them."""
    first = await halves.receive("m1")
    second = await halves.receive("m2")  # the same address: the same customer
    assert second.customer_id == first.customer_id
    gc.collect()
    cached = list(halves.node._owners)
    assert cached == [("email", "lucia@example.it")]
    assert not any(gc.is_tracked(key) for key in cached)
