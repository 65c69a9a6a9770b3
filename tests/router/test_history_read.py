"""A returning customer's plan reads a history that holds the decisions about the contacts
it shows, and waits for no others (router/history_waits.py): real SQLite and PostgreSQL,
decisions lingering in the journal so that they are still being recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.contact import CustomerRef, InboundContact
from router.engine import Engine
from router.intake import Intake, IntakeResult
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.changes import CONTACTS
from router.store.repository import Store
from skills.vocabulary import Channel
from tests.databases import database
from tests.engine_helpers import RULES

NOW = 1_800_000_000.0
LINGER = 600.0  # a batch of decisions waits for more until someone waits for it


@dataclass
class Router:
    intake: Intake
    store: Store
    dialect: str

    async def contact(self, message_id: str, email: str) -> IntakeResult:
        inbound = InboundContact(
            gateway="gw",
            external_id=message_id,
            channel=Channel.CHAT,
            customer=CustomerRef(email=email, name=email.split("@")[0]),
            text="La bolletta è sbagliata",
            language="it",
            intent="billing",
        )
        return await self.intake.accept(inbound)

    def history(self, contact_id: str) -> list[dict[str, object]]:
        return list(self.intake.runtime.contexts[contact_id]["history"])

    @property
    def recording(self) -> int:
        """Units of decisions recorded and not written yet."""
        return len(self.intake.runtime.recorder._pending)


@pytest.fixture(params=["sqlite", "postgresql"])
async def router(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Router]:
    async with database(request.param, tmp_path) as url:
        store = await Store.open(url, linger=LINGER)
        runtime = RouterRuntime(Engine(RULES.config), store, clock=lambda: NOW)
        await runtime.start()
        try:
            yield Router(Intake(runtime, Planner(RULES)), store, request.param)
            await runtime.recorder.flush()
        finally:
            await runtime.stop()
            await store.close()


async def test_a_returning_customers_plan_sees_the_plan_of_their_contact_being_recorded(
    router: Router,
) -> None:
    first = await router.contact("m1", "lucia@example.it")
    assert first.queue == "billing"
    assert router.recording == 1  # its plan (queue, state) lingers in the journal
    again = await router.contact("m2", "lucia@example.it")  # known now: history is read
    (line,) = router.history(again.contact_id)
    assert line["contact_id"] == first.contact_id
    # as recorded by its plan, not as stored at intake (state "received", no queue)
    assert (line["state"], line["queue"]) == ("queued", "billing")


async def test_another_customers_plan_does_not_wait_for_decisions_about_others(
    router: Router,
) -> None:
    if router.dialect == "sqlite":
        pytest.skip("one lane on SQLite: a new contact's commit writes what lingers too")
    await router.contact("b1", "bruno@example.it")
    await router.intake.runtime.recorder.flush()  # Bruno's first contact fully written
    await router.contact("l1", "lucia@example.it")
    assert router.recording == 1  # Lucia's plan lingers
    again = await router.contact("b2", "bruno@example.it")  # Bruno returns: history read
    assert [line["state"] for line in router.history(again.contact_id)] == ["queued"]
    # his plan read his history without waiting for Lucia's, which still lingers
    assert router.recording == 2


async def test_a_contact_moved_into_the_customers_history_is_waited_for_too(
    router: Router,
) -> None:
    """A merge committed elsewhere (another node's, its notice still on its way) brings
    another customer's contact into this history: its decisions are waited for all the
    same, since the wait is by the contacts read, not by the customer."""
    bruno = await router.contact("b1", "bruno@example.it")
    await router.intake.runtime.recorder.flush()
    customer = router.intake.runtime.engine.contacts[bruno.contact_id].customer_id
    lucia = await router.contact("l1", "lucia@example.it")
    assert router.recording == 1  # Lucia's plan lingers
    async with router.store.engine.begin() as connection:  # merged, as another node would
        await connection.execute(
            CONTACTS.update().where(CONTACTS.c.id == lucia.contact_id).values(customer_id=customer)
        )
    again = await router.contact("b2", "bruno@example.it")
    lines = {line["contact_id"]: line for line in router.history(again.contact_id)}
    assert lines.keys() == {bruno.contact_id, lucia.contact_id}
    assert (lines[lucia.contact_id]["state"], lines[lucia.contact_id]["queue"]) == (
        "queued",
        "billing",
    )
