"""The agent's stream (api/desktop/hub.py): events serialized once, buffered as text."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

from api.desktop.hub import AgentStream, Delivery, event_contact
from api.desktop.protocol import (
    Ack,
    AssignedEvent,
    CompletedEvent,
    OfferEndedEvent,
    OfferEvent,
    PresenceEvent,
    ServerEvent,
    SupervisorMessageEvent,
    WrapUpEvent,
    ack,
)
from router.customer_changes import about_contact


def offer(contact_id: str, arrival: float) -> OfferEvent:
    return OfferEvent(
        offer_id=f"o-{contact_id}",
        contact={"contact_id": contact_id, "arrival": arrival, "text": "Il mio IBAN è IT60X"},
        channel="chat",
        expires_at=arrival + 30,
        explanation={"search": {"candidates": [{"agent": "anna", "ring": 0}]}, "total": 10.0},
    )


def events() -> list[ServerEvent]:
    return [
        offer("c1", 100.0),
        AssignedEvent(contact_id="c1", offer_id="o-c1"),
        offer("c2", 101.5),
        OfferEndedEvent(offer_id="o-c2", contact_id="c2", outcome="rejected", reason="busy"),
    ]


async def test_each_event_is_sent_and_buffered_as_its_json_once() -> None:
    stream = AgentStream("boot:anna", buffer_size=10)
    outbox: asyncio.Queue[Delivery | None] = asyncio.Queue()
    stream.outbox = outbox
    sent = events()
    for event in sent:
        stream.push(event)
    deliveries = [outbox.get_nowait() for _ in sent]
    assert all(delivery is not None for delivery in deliveries)
    texts = [delivery.text for delivery in deliveries if delivery is not None]
    assert [json.loads(text) for text in texts] == [event.model_dump(mode="json") for event in sent]
    assert [json.loads(text)["seq"] for text in texts] == [1, 2, 3, 4]
    # an offer is marked so and carries its contact's arrival (centralino_offer_sent_seconds)
    assert [(d.offer, d.arrival) for d in deliveries if d is not None] == [
        (True, 100.0),
        (False, None),
        (True, 101.5),
        (False, None),
    ]
    assert stream.buffer.texts == texts
    assert stream.missed_since(2) == texts[2:]
    assert stream.missed_since(4) == []
    assert stream.missed_since(5) is None  # ahead of the stream: another stream's seq


def test_a_buffer_that_no_longer_reaches_back_says_so() -> None:
    stream = AgentStream("boot:anna", buffer_size=2)
    for event in events():
        stream.push(event)
    assert stream.missed_since(1) is None  # event 2 was dropped from the buffer
    assert [json.loads(text)["seq"] for text in stream.missed_since(2) or []] == [3, 4]


def test_the_buffer_allocates_nothing_the_garbage_collector_walks() -> None:
    """A replay buffer of 500 events for each of 2,000 agents is a million events: as dict
    trees, millions of objects in every full collection; as text in two deques, nothing
    (not even a young tuple an event)."""
    stream = AgentStream("boot:anna", buffer_size=500)
    gc.collect()
    before = len(gc.get_objects(0))
    for n in range(200):
        stream.push(offer(f"c{n}", float(n)))
    young: list[Any] = gc.get_objects(0)
    assert len(young) - before < 50  # the events themselves are garbage once pushed
    assert not any(gc.is_tracked(text) for text in stream.buffer.texts)


def test_redacting_a_contact_rewrites_only_its_events_and_keeps_every_seq() -> None:
    stream = AgentStream("boot:anna", buffer_size=10)
    for event in events():
        stream.push(event)
    stream.redact({"c1"})
    replayed = [json.loads(text) for text in stream.missed_since(0) or []]
    assert [event["seq"] for event in replayed] == [1, 2, 3, 4]
    assert replayed[0]["contact"] == {"contact_id": "c1", "erased": True}
    assert replayed[0]["erased"] is True and replayed[0]["explanation"] == {}
    assert replayed[1] == {
        "type": "assigned",
        "seq": 2,
        "contact_id": "c1",
        "offer_id": "o-c1",
        "erased": True,
    }
    assert "IBAN" not in json.dumps(replayed[:2])
    assert replayed[2]["contact"]["text"] == "Il mio IBAN è IT60X"  # c2: untouched
    assert "erased" not in replayed[3]


def test_the_contact_of_an_event_is_read_from_its_fields_as_from_its_json() -> None:
    """``event_contact`` (what the replay buffer files an event under, for an erasure)
    gives what ``about_contact`` reads from the event's JSON, with or without a contact."""
    samples: list[ServerEvent] = [
        *events(),
        PresenceEvent(presence="away", reason="lunch", code="lunch", since=1.0, forced_by=""),
        SupervisorMessageEvent(text="ciao", sender="sara", at=2.0),
        OfferEvent(offer_id="o3", contact={}, channel="chat", expires_at=3.0, explanation={}),
    ]
    for event in samples:
        assert event_contact(event) == about_contact(json.loads(event.model_dump_json()))
    assert [event_contact(event) for event in samples] == [
        "c1",
        "c1",
        "c2",
        "c2",
        None,
        None,
        None,
    ]


def test_an_ack_is_the_protocol_models_dump_with_its_extra_fields() -> None:
    for ref in (None, "r1"):
        assert ack(ref, "accept") == Ack(ref=ref, of="accept").model_dump()
        assert ack(ref, "wrap_up", decisions=2) == Ack(ref=ref, of="wrap_up").model_dump() | {
            "decisions": 2
        }


def fields_of(event: ServerEvent) -> dict[str, Any]:
    return {k: v for k, v in event.__dict__.items() if k not in ("seq", "type")}


HOT_EVENTS: list[ServerEvent] = [
    *events(),
    OfferEvent(
        offer_id="o-c3",
        contact={
            "contact_id": "c3",
            "arrival": 1_764_999_999.123456,
            "text": 'Salve — ho un problema: «urgente» 😡\n"citato"',
            "urgency": 0.1 + 0.2,
            "tiny": 1e-7,
            "big": 1e21,
            "missing": None,
            "list": [1, 2.5, True, None, "x"],
        },
        channel="voice",
        expires_at=1_765_000_029.5,
        explanation={"steps": [{"score": -0.0}, {"score": 123456789.0}], "note": ""},
    ),
    WrapUpEvent(contact_id="c1", until=1_765_000_100.25, ended_by="agent"),
    CompletedEvent(contact_id="c1", outcome="ok", resolved=None),
    CompletedEvent(contact_id="c2", outcome="sale", resolved=True),
]


async def test_the_hot_events_written_from_their_fields_are_the_models_text() -> None:
    """push_fields (orjson from the fields) and push (the model's own JSON) write the same
    bytes, deliver the same way (offers marked, with the arrival) and buffer the same."""
    by_model, by_fields = AgentStream("s", buffer_size=20), AgentStream("s", buffer_size=20)
    outboxes: list[asyncio.Queue[Delivery | None]] = [asyncio.Queue(), asyncio.Queue()]
    by_model.outbox, by_fields.outbox = outboxes
    for event in HOT_EVENTS:
        by_fields.push_fields(type(event), fields_of(event))
        by_model.push(event.model_copy())
    assert by_fields.buffer.texts == by_model.buffer.texts
    assert by_fields.seq == by_model.seq == len(HOT_EVENTS)
    delivered = [[queue.get_nowait() for _ in HOT_EVENTS] for queue in outboxes]
    assert delivered[0] == delivered[1]
    assert by_fields.missed_since(0) == by_model.missed_since(0)


def test_fields_orjson_cannot_write_go_through_the_model() -> None:
    """A value orjson refuses (a set) takes the model's path: the event is still sent, as
    the model writes it."""
    stream = AgentStream("s", buffer_size=5)
    explanation: dict[str, Any] = {"agents": {"anna"}}
    stream.push_fields(
        OfferEvent,
        {
            "offer_id": "o1",
            "contact": {"contact_id": "c1"},
            "channel": "chat",
            "expires_at": 1.0,
            "explanation": explanation,
        },
    )
    (text,) = stream.buffer.texts
    event = OfferEvent(
        offer_id="o1",
        contact={"contact_id": "c1"},
        channel="chat",
        expires_at=1.0,
        explanation=explanation,
    )
    event.seq = 1
    assert text == event.model_dump_json()
