"""The store on real SQLite and real PostgreSQL: idempotent intake, recovery, history, log."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from router.decisions import Assigned, Completed, Offered, Queued
from router.recorder import Recorder
from router.store.changes import ContactUpdate
from router.store.errors import StoreError
from router.store.repository import Store
from skills.identity import email_identity, phone_identity
from skills.vocabulary import Channel
from tests.engine_helpers import policy


def row(contact_id: str, message_id: str, **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": contact_id,
        "gateway": "gw",
        "external_id": message_id,
        "channel": "chat",
        "customer_id": "email:mario@example.it",
        "queue": "billing",
        "rule": "billing",
        "policy": policy("billing").to_dict(),
        "state": "queued",
        "arrival": 100.0,
        "updated_at": 100.0,
    }
    values.update(fields)
    return values


async def test_add_contact_is_idempotent_on_gateway_message(store: Store) -> None:
    first, created = await store.add_contact(row("c1", "m1"))
    assert created and first.id == "c1"
    again, created = await store.add_contact(row("c2", "m1"))
    assert not created and again.id == "c1"
    other, created = await store.add_contact(row("c3", "m1", gateway="other"))
    assert created and other.id == "c3"


async def test_concurrent_inserts_of_one_message_make_one_row(store: Store) -> None:
    results = await asyncio.gather(*(store.add_contact(row(f"c{i}", "same")) for i in range(6)))
    assert sum(created for _, created in results) == 1
    assert len({r.id for r, _ in results}) == 1


async def test_unfinished_contacts_in_arrival_order(store: Store) -> None:
    await store.add_contact(row("late", "m1", arrival=300.0))
    await store.add_contact(row("early", "m2", arrival=100.0))
    await store.add_contact(row("done", "m3", arrival=50.0, state="completed"))
    await store.add_contact(row("gone", "m4", arrival=60.0, state="abandoned"))
    await store.add_contact(row("busy", "m5", arrival=200.0, state="assigned", agent_id="a1"))
    assert [c.id for c in await store.unfinished_contacts()] == ["early", "busy", "late"]


async def test_each_routing_domain_loads_and_adopts_only_its_own_contacts(store: Store) -> None:
    from router.runtime import RouterRuntime
    from tests.engine_helpers import engine

    await store.add_contact(row("n1", "m1", domain="north"))
    await store.add_contact(row("s1", "m2", domain="south"))
    await store.add_contact(row("d1", "m3"))  # no domain given: the default one
    assert [c.id for c in await store.unfinished_contacts("north")] == ["n1"]
    assert [c.id for c in await store.unfinished_contacts("default")] == ["d1"]
    south = RouterRuntime(engine(), store, domain="south")
    northern = await store.contact("n1")
    southern = await store.contact("s1")
    assert northern is not None and southern is not None
    assert not south.adopt(northern)  # a retried message id that reached the wrong domain
    assert south.adopt(southern)
    assert set(south.engine.contacts) == {"s1"}


async def test_customer_history_finds_unresolved_case_and_agent(store: Store) -> None:
    await store.add_contact(
        row("old", "m1", arrival=10.0, agent_id="anna", resolved=True, state="completed")
    )
    await store.add_contact(
        row(
            "mid",
            "m2",
            arrival=20.0,
            agent_id="bruno",
            resolved=False,
            state="completed",
            queue="cards",
        )
    )
    await store.add_contact(row("new", "m3", arrival=30.0, state="abandoned"))
    history = await store.customer_history("email:mario@example.it", since=0.0)
    assert history.previous_contacts == 3
    assert history.unresolved is True
    assert history.last_agent == "bruno"
    assert [(h.agent_id, h.queue, h.resolved) for h in history.handled] == [
        ("bruno", "cards", False),
        ("anna", "billing", True),
    ]
    assert history.last_queue == "cards"
    assert [h["contact_id"] for h in history.recent] == ["new", "mid", "old"]
    assert history.facts()["known"] is True
    assert (await store.customer_history("email:mario@example.it", since=25.0)).unresolved is False
    assert (await store.customer_history("nobody", since=0.0)).previous_contacts == 0


async def test_recorder_writes_decisions_in_order(store: Store) -> None:
    await store.add_contact(row("c1", "m1"))
    recorder = Recorder(store)
    recorder.record(101.0, [Queued("c1", "billing", "arrival", {"why": "no agent"})])
    recorder.record(102.0, [Offered("o-1", "c1", "anna", Channel.CHAT, 132.0, {"chosen": "anna"})])
    recorder.record(103.0, [Assigned("c1", "anna", "o-1", 3.0)])
    recorder.record(200.0, [Completed("c1", "anna", "refund", True)])
    await recorder.stop()
    stored = await store.contact("c1")
    assert stored is not None
    assert (stored.state, stored.agent_id, stored.outcome, stored.resolved) == (
        "completed",
        "anna",
        "refund",
        True,
    )
    assert stored.answered_at == 103.0 and stored.ended_at == 200.0
    events = await store.events("c1")
    assert [e.kind for e in events] == ["queued", "offered", "assigned", "completed"]
    assert events[1].detail["explanation"] == {"chosen": "anna"}
    (offer,) = await store.offers("c1")
    assert offer.agent_id == "anna" and offer.expires_at == 132.0


async def test_recorder_isolates_a_change_the_database_refuses(store: Store) -> None:
    await store.add_contact(row("c1", "m1"))
    recorder = Recorder(store)
    # an offer for a contact that does not exist violates the foreign key
    recorder.record(1.0, [Offered("o-x", "ghost", "anna", Channel.CHAT, 2.0, {})])
    recorder.record(1.0, [Assigned("c1", "anna", "o-1", 1.0)])
    await recorder.stop()
    assert recorder.failed >= 1
    stored = await store.contact("c1")
    assert stored is not None and stored.state == "assigned"


async def test_reaching_a_mark_past_a_refused_change_says_it_was_not_all_written(
    store: Store,
) -> None:
    """``reached`` waits only for the newest write up to the mark (the journal answers in
    order); a refused earlier one still makes it False."""
    await store.add_contact(row("c1", "m1"))
    recorder = Recorder(store)
    recorder.record(1.0, [Offered("o-x", "ghost", "anna", Channel.CHAT, 2.0, {})])  # refused
    refused = recorder.mark
    recorder.record(1.0, [Assigned("c1", "anna", "o-1", 1.0)])
    assert await recorder.reached(recorder.mark) is False
    assert await recorder.reached(refused) is False
    assert recorder.diverged


async def test_apply_refused_batch_raises_store_error(store: Store) -> None:
    with pytest.raises(StoreError):
        await store.apply([ContactUpdate("c1", {"no_such_column": 1})])


async def test_agents_and_tokens(store: Store) -> None:
    _saved, created = await store.save_agent(
        {
            "id": "anna",
            "name": "Anna",
            "skills": {"billing": 4},
            "languages": ["it"],
            "capacity": {},
        },
        1.0,
    )
    assert created
    _, created = await store.save_agent({"id": "anna", "name": "Anna B."}, 2.0)
    assert not created
    assert await store.set_agent_token("anna", "secret-1")
    assert not await store.set_agent_token("ghost", "x")
    found = await store.agent_by_token("secret-1")
    assert found is not None and found.name == "Anna B." and found.skills == {"billing": 4}
    assert found.token_hash != "secret-1"  # only a hash is kept
    assert await store.agent_by_token("secret-2") is None
    assert await store.agent_id_by_token("secret-1") == "anna"
    assert await store.agent_id_by_token("secret-2") is None
    assert [a.id for a in await store.agents()] == ["anna"]


async def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        await Store.open("postgresql+asyncpg://nobody@127.0.0.1:1/none")


async def test_identities_resolve_to_one_customer_and_link(store: Store) -> None:
    email = email_identity("mario@example.it")
    phone = phone_identity("333 123 4567")
    first = await store.customers.resolve([email], "Mario", 1.0)
    assert first.created
    again = await store.customers.resolve([email], "", 2.0)
    assert again.customer_id == first.customer_id and not again.created
    caller = await store.customers.resolve([phone], "", 3.0)
    assert caller.customer_id != first.customer_id
    await store.add_contact(row("mail", "m1", customer_id=first.customer_id, arrival=1.0))
    await store.add_contact(row("call", "m2", customer_id=caller.customer_id, arrival=3.0))
    # an email that also gives the phone number links the two
    linked = await store.customers.resolve([email, phone], "", 4.0)
    assert linked.customer_id == first.customer_id
    assert linked.merged == (caller.customer_id,)
    assert await store.customers.identities(first.customer_id) == sorted([email, phone])
    history = await store.customer_history(first.customer_id, since=0.0)
    assert [h["contact_id"] for h in history.recent] == ["call", "mail"]
    later = await store.customers.resolve([phone], "", 5.0)
    assert later.customer_id == first.customer_id


async def test_concurrent_first_contacts_create_one_customer(store: Store) -> None:
    email = email_identity("new@example.it")
    results = await asyncio.gather(*(store.customers.resolve([email], "", 1.0) for _ in range(5)))
    assert len({r.customer_id for r in results}) == 1


async def test_a_new_agent_is_stored_with_its_token_in_one_write(store: Store) -> None:
    _row, created = await store.save_agent({"id": "ivo", "name": "Ivo"}, 1.0, new_token="t-1")
    assert created
    found = await store.agent_by_token("t-1")
    assert found is not None and found.id == "ivo"
    # saving the profile again keeps the token (only a new agent gets one)
    _row, created = await store.save_agent({"id": "ivo", "name": "Ivo R."}, 2.0, new_token="t-2")
    assert not created
    assert await store.agent_by_token("t-2") is None
    kept = await store.agent_by_token("t-1")
    assert kept is not None and kept.name == "Ivo R."
