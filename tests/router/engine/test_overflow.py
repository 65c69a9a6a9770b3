"""Overflow: after a wait a contact is also eligible for another queue's agents, ranked
there with the rule's priority, still counted in its own queue. Injected clock only."""

from __future__ import annotations

from router.decisions import Assigned, Offered, Queued
from router.rules.model import OverflowSpec, QueueSpec
from router.states import Presence
from tests.engine_helpers import (
    RULES,
    agent,
    contact,
    engine,
    offer_id_for,
    offers_to,
    online,
)

QUEUES = {
    **RULES.config.queues,
    "billing": QueueSpec(
        skills={"billing": 1},
        overflow=(OverflowSpec(to="tech", after=60.0, priority=30.0),),
    ),
}


def test_after_the_wait_another_queues_agent_can_take_it() -> None:
    eng = engine(queues=QUEUES)
    online(eng, agent("t1", capacity={"chat": 1}, tech=3), 0.0)
    eng.add_contact(contact("c1"), 0.0)
    assert offers_to(eng, "t1") == []  # a billing contact: not for a tech agent yet
    out = eng.advance(60.0)
    (offer,) = out.of(Offered)
    assert offer.contact_id == "c1" and offer.agent_id == "t1"
    assert offer.explanation["trigger"] == "overflow"
    assert offer.explanation["overflow"] == {"to": "tech", "rule": 0, "priority": 30.0}
    accepted = eng.accept("t1", offer.offer_id, 61.0)
    assert accepted.of(Assigned)[0].waited == 61.0
    assert eng.contacts["c1"].policy.queue == "billing"  # its own queue's service level


def test_it_waits_in_both_queues_and_ranks_with_its_overflow_priority() -> None:
    eng = engine(queues=QUEUES)
    online(eng, agent("t1", capacity={"chat": 1}, tech=4), 0.0)
    eng.add_contact(contact("busy", "tech"), 0.0)
    eng.accept("t1", offer_id_for(eng, "busy"), 0.0)
    eng.add_contact(contact("c1"), 0.0)
    eng.add_contact(contact("t-later", "tech", arrival=30.0), 30.0)
    queued = [q for q in eng.advance(60.0).of(Queued) if q.reason == "overflow"]
    assert [(q.contact_id, q.queue) for q in queued] == [("c1", "billing")]
    # t1 frees: c1 (tech ageing since 0 + 30 points) before the tech contact from 30 s
    out = eng.wrap_up("t1", "busy", 100.0, outcome="ok", resolved=True)
    (offer,) = out.of(Offered)
    assert offer.contact_id == "c1" and offer.explanation["overflow"]["to"] == "tech"
    # declined: it goes back to both lanes, and a billing agent can still take it
    eng.reject("t1", offer.offer_id, 101.0)
    assert eng.contacts["c1"].overflow_lane is not None
    online(eng, agent("b1", capacity={"chat": 1}, billing=5), 102.0)
    assert offers_to(eng, "b1") == ["c1"]


def test_no_overflow_before_the_wait_and_none_while_its_own_queue_answers() -> None:
    eng = engine(queues=QUEUES)
    online(eng, agent("b1", capacity={"chat": 1}, billing=5), 0.0)
    eng.add_contact(contact("c1"), 0.0)  # offered at once in its own queue
    assert offers_to(eng, "b1") == ["c1"]
    eng.set_presence("b1", Presence.AWAY, 1.0)  # revoked, waits again
    assert not eng.advance(59.0).of(Offered)
    assert eng.contacts["c1"].overflow_lane is None
    eng.advance(60.0)
    assert eng.contacts["c1"].overflow_lane is not None
