"""Supervisor actions on the engine: reassign, pull, priority (with the injected clock)."""

from __future__ import annotations

import pytest

from router.decisions import NotAllowed, Offered, OfferEnded, Queued, Supervised
from router.states import ContactState, OfferOutcome, Presence
from skills.vocabulary import Channel
from tests.engine_helpers import agent, contact, engine, offer_id_for, online


def test_reassign_an_assigned_contact_to_another_agent() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5))
    eng.add_contact(contact("c1"), 0.0)
    eng.accept("anna", offer_id_for(eng, "c1"), 1.0)
    online(eng, agent("bruno", tech=5), now=2.0)  # no billing skill: the supervisor decides
    out = eng.reassign("c1", 3.0, to_agent="bruno", reason="escalation", by="sara")
    moved = out.of(Supervised)[0]
    assert (moved.action, moved.from_agent, moved.to_agent, moved.was_assigned) == (
        "reassign",
        "anna",
        "bruno",
        True,
    )
    offered = out.of(Offered)[0]
    assert offered.agent_id == "bruno" and offered.explanation["by"] == "sara"
    assert eng.contacts["c1"].state is ContactState.OFFERED
    assert eng.agents["anna"].used(eng.contacts["c1"].channel) == 0
    assert eng.contacts["c1"].arrival == 0.0  # the original arrival is kept


def test_pull_an_offered_contact_back_to_the_queue_skips_that_agent() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5))
    eng.add_contact(contact("c1"), 0.0)
    out = eng.reassign("c1", 1.0, to_agent=None, reason="wrong agent", by="sara")
    ended = out.of(OfferEnded)[0]
    assert ended.outcome is OfferOutcome.REVOKED and "wrong agent" in ended.reason
    assert out.of(Queued)[0].reason == "pulled by supervisor"
    assert eng.contacts["c1"].state is ContactState.QUEUED
    assert not eng.agents["anna"].offers  # not offered straight back to anna
    with pytest.raises(NotAllowed, match="already waiting"):
        eng.reassign("c1", 2.0, to_agent=None, reason="again", by="sara")


def test_reassign_refuses_an_agent_who_cannot_take_it() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5))
    eng.upsert_agent(agent("carla", billing=5), 0.0)  # offline
    eng.add_contact(contact("c1"), 0.0)
    with pytest.raises(NotAllowed, match="carla is offline"):
        eng.reassign("c1", 1.0, to_agent="carla", reason="x", by="sara")
    with pytest.raises(NotAllowed, match="already with anna"):
        eng.reassign("c1", 1.0, to_agent="anna", reason="x", by="sara")
    assert eng.agents["anna"].presence is Presence.AVAILABLE


def test_priority_change_reorders_the_queue() -> None:
    eng = engine()
    eng.add_contact(contact("first", "tech", channel=Channel.VOICE), 0.0)
    eng.add_contact(contact("low", "tech", channel=Channel.VOICE), 0.0)
    out = eng.set_priority("low", 90.0, 1.0, reason="VIP customer", by="sara")
    change = out.of(Supervised)[0]
    assert change.detail["from"] == 0.0 and change.detail["to"] == 90.0
    assert change.policy is not None and change.policy.base_priority == 90.0
    online(eng, agent("tea", tech=5), now=2.0)  # one free agent: the raised one goes first
    assert [o.contact_id for o in eng.agents["tea"].offers.values()] == ["low"]
    eng.accept("tea", offer_id_for(eng, "low"), 3.0)
    with pytest.raises(NotAllowed, match="only a waiting contact"):
        eng.set_priority("low", 10.0, 4.0, reason="x", by="sara")
