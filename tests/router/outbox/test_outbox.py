"""The outbox on real SQLite and PostgreSQL: events are committed with their decisions (a
decision that is not committed is never announced), read back in order, and a webhook
sink signs what it sends."""

from __future__ import annotations

import time

import pytest

from router.decisions import Assigned, Offered, Queued
from router.outbox.events import EventBuilder, arrival_event
from router.outbox.signing import sign, verify
from router.outbox.store import OutboxStore
from router.recorder import Recorder
from router.store.changes import OfferInsert, OutboxInsert
from router.store.errors import StoreError
from router.store.repository import Store
from skills.vocabulary import Channel
from tests.databases import contact_row

CONTEXT = {"gateway": "gw", "external_id": "m1", "channel": "chat"}


async def add_contact(store: Store, contact_id: str) -> None:
    values = contact_row(contact_id)
    announce = arrival_event(contact_id, 1.0, CONTEXT, "billing")
    _row, created = await store.add_contact(values, announce.as_row())
    assert created
    _row, created = await store.add_contact(values, announce.as_row())  # a retry
    assert not created


def builder() -> EventBuilder:
    return EventBuilder(lambda _cid: CONTEXT, lambda aid: {"name": aid.upper(), "endpoint": None})


async def test_events_are_committed_with_their_decisions_in_order(store: Store) -> None:
    outbox = OutboxStore(store)
    await add_contact(store, "c1")
    recorder = Recorder(store, builder().build)
    recorder.record(
        2.0,
        [
            Queued("c1", "billing", "expansion", {}),  # no news to a gateway
            Offered("o1", "c1", "anna", Channel.CHAT, 30.0, {}),
            Assigned("c1", "anna", "o1", 3.5),
        ],
    )
    assert await recorder.reached(recorder.mark)
    events = await outbox.events_after(0)
    assert [e.type for e in events] == ["contact.queued", "contact.offered", "contact.assigned"]
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert events[2].payload["data"]["agent"] == {"id": "anna", "name": "ANNA", "endpoint": None}
    assert events[2].payload["contact"] == {"id": "c1", **CONTEXT}
    assert await outbox.seq_of(events[1].payload["id"]) == events[1].seq
    assert [
        e.type for e in await outbox.events_after(events[0].seq, types=["contact.assigned"])
    ] == ["contact.assigned"]


async def test_a_decision_that_is_not_committed_is_never_announced(store: Store) -> None:
    outbox = OutboxStore(store)
    await add_contact(store, "c2")
    offer = {"id": "o2", "contact_id": "c2", "agent_id": "a", "made_at": 1.0, "expires_at": 2.0}
    await store.apply([OfferInsert(offer)])
    before = await outbox.last_seq()
    announced = builder().build(3.0, Offered("o2", "c2", "a", Channel.CHAT, 9.0, {}))
    assert announced is not None
    with pytest.raises(StoreError):  # the same offer id again: the unit fails whole
        await store.apply([OutboxInsert(announced.as_row()), OfferInsert(offer)])
    assert await outbox.last_seq() == before


async def test_subscriptions_keep_a_cursor(store: Store) -> None:
    outbox = OutboxStore(store)
    await add_contact(store, "c3")
    created = await outbox.put({"id": "s", "url": "http://x", "secret": "k", "created_at": 1.0})
    assert created
    row = await outbox.subscription("s")
    assert row is not None and row.cursor == await outbox.last_seq()  # starts from now
    await outbox.advance("s", row.cursor + 5, 2, 10.0)
    await outbox.advance("s", row.cursor + 1, 1, 11.0)  # a stale batch never moves it back
    moved = await outbox.subscription("s")
    assert moved is not None and moved.cursor == row.cursor + 5 and moved.delivered == 2


def test_signatures_verify_only_within_the_window_and_with_the_secret() -> None:
    body, now = b'{"id":"evt_1"}', time.time()
    header = sign("whsec_a", body, int(now))
    assert verify("whsec_a", header, body, now)
    assert not verify("whsec_b", header, body, now)
    assert not verify("whsec_a", header, body + b" ", now)
    assert not verify("whsec_a", header, body, now + 301)  # a replay after the window
    rotated = f"{header},v1={'0' * 64}"
    assert verify("whsec_a", rotated, body, now)
    assert not verify("whsec_a", "v1=abc", body, now)


async def test_old_events_are_purged_only_once_every_active_subscription_has_them(
    store: Store,
) -> None:
    outbox = OutboxStore(store)
    await add_contact(store, "c4")  # one event at t=1
    await add_contact(store, "c5")  # and another
    first, second = await outbox.events_after(0)
    await outbox.put(
        {"id": "slow", "url": "http://x", "secret": "k", "created_at": 1.0, "cursor": first.seq}
    )
    await outbox.put(
        {
            "id": "off",
            "url": "http://y",
            "secret": "k",
            "created_at": 1.0,
            "cursor": 0,
            "status": "disabled",
        }
    )
    assert await outbox.purge(before=2.0) == 1  # "slow" still needs the second
    assert [e.seq for e in await outbox.events_after(0)] == [second.seq]
    assert await outbox.purge(before=0.5) == 0  # nothing that old
