"""A held contact (a callback at a chosen time) is out of matching until then and keeps its
place: its ageing counts from its first arrival. Injected clock only."""

from __future__ import annotations

import pytest

from router.decisions import NotAllowed, Offered
from router.states import ContactState
from tests.engine_helpers import agent, contact, engine, offer_id_for, offers_to, online


def test_a_held_contact_waits_then_keeps_its_place() -> None:
    eng = engine()
    eng.add_contact(contact("c1", arrival=0.0), 0.0)
    eng.hold("c1", 100.0, 1.0)
    eng.add_contact(contact("c2", arrival=5.0), 5.0)
    online(eng, agent("a1", capacity={"chat": 1}, billing=5), 10.0)
    assert offers_to(eng, "a1") == ["c2"]  # c1 is held
    eng.accept("a1", offer_id_for(eng, "c2"), 11.0)
    eng.add_contact(contact("c3", arrival=60.0), 60.0)
    assert not eng.advance(99.0).of(Offered)
    assert eng.contacts["c1"].state is ContactState.QUEUED and eng.contacts["c1"].lane is None
    eng.advance(100.0)  # the hold is over: c1 waits in its lane again
    assert eng.contacts["c1"].lane is not None
    eng.wrap_up("a1", "c2", 120.0, outcome="ok", resolved=True)  # a1 free: c1 before c3
    assert offers_to(eng, "a1") == ["c1"]


def test_only_a_queued_contact_can_be_held_and_a_past_time_is_no_hold() -> None:
    eng = engine()
    online(eng, agent("a1", capacity={"chat": 1}, billing=5), 0.0)
    eng.add_contact(contact("c1"), 0.0)  # offered at once
    with pytest.raises(NotAllowed):
        eng.hold("c1", 50.0, 1.0)
    eng.add_contact(contact("c2"), 0.0)
    assert not eng.hold("c2", 0.5, 1.0).items  # already past: nothing changes
    assert eng.contacts["c2"].held_until == 0.0
