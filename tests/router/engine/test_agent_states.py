"""Agent states with reason codes: time in state, per-reason limits, forced states."""

from __future__ import annotations

import pytest

from router.decisions import NotAllowed, PresenceChanged, StateLimitExceeded
from router.rules.model import AgentStatesSpec, AwayReason
from router.states import Presence
from tests.engine_helpers import agent, engine, online


def test_away_with_a_reason_code_starts_the_clock_and_alerts_past_its_limit() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5), now=0.0)
    out = eng.set_presence("anna", Presence.AWAY, 100.0, "caffè", code="break")
    change = out.of(PresenceChanged)[0]
    assert (change.code, change.since, change.reason) == ("break", 100.0, "caffè")
    anna = eng.agents["anna"]
    assert (anna.presence_code, anna.presence_since) == ("break", 100.0)
    assert not eng.advance(100.0 + 899.0).of(StateLimitExceeded)  # break limit: 15 min
    alert = eng.advance(100.0 + 900.0).of(StateLimitExceeded)
    assert alert == [StateLimitExceeded("anna", "break", 100.0, 900.0)]


def test_a_limit_timer_of_an_earlier_state_is_ignored() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5))
    eng.set_presence("anna", Presence.AWAY, 10.0, code="break")
    eng.set_presence("anna", Presence.AVAILABLE, 20.0)
    eng.set_presence("anna", Presence.AWAY, 30.0, code="training")  # no limit
    assert not eng.advance(5000.0).of(StateLimitExceeded)
    eng.set_presence("anna", Presence.AWAY, 6000.0, code="break")
    eng.set_presence("anna", Presence.AWAY, 6100.0, code="lunch")  # code change: new clock
    assert eng.agents["anna"].presence_since == 6100.0
    assert not eng.advance(6000.0 + 900.0).of(StateLimitExceeded)
    assert eng.advance(6100.0 + 3600.0).of(StateLimitExceeded)[0].code == "lunch"


def test_unknown_or_misplaced_codes_are_refused() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5))
    with pytest.raises(NotAllowed, match=r"unknown reason code 'nap'.*break"):
        eng.set_presence("anna", Presence.AWAY, 1.0, code="nap")
    with pytest.raises(NotAllowed, match="only with presence 'away'"):
        eng.set_presence("anna", Presence.AVAILABLE, 1.0, code="break")
    assert eng.agents["anna"].presence is Presence.AVAILABLE


def test_require_reason_and_a_supervisor_forcing_a_state() -> None:
    states = AgentStatesSpec(reasons={"coaching": AwayReason(limit=60)}, require_reason=True)
    eng = engine(agent_states=states)
    online(eng, agent("anna", billing=5))
    with pytest.raises(NotAllowed, match="needs a reason code"):
        eng.set_presence("anna", Presence.AWAY, 1.0)
    out = eng.set_presence("anna", Presence.AWAY, 2.0, "1:1", code="coaching", forced_by="sara")
    assert out.of(PresenceChanged)[0].forced_by == "sara"
    assert eng.agents["anna"].forced_by == "sara"
    eng.set_presence("anna", Presence.AVAILABLE, 3.0)
    assert eng.agents["anna"].forced_by == ""
    assert eng.agents["anna"].presence_since == 3.0


def test_a_supervisor_cannot_log_in_or_make_available_an_agent_without_a_desktop() -> None:
    eng = engine()
    eng.upsert_agent(agent("anna", billing=5), 0.0)
    with pytest.raises(NotAllowed, match="not logged in"):
        eng.set_presence("anna", Presence.AWAY, 1.0, code="meeting", forced_by="sara")
    online(eng, agent("anna", billing=5), now=2.0)
    eng.set_presence("anna", Presence.AWAY, 3.0, code="break")
    eng.disconnected("anna", 4.0)  # within the disconnect grace: still logged in
    with pytest.raises(NotAllowed, match="no desktop connected"):
        eng.set_presence("anna", Presence.AVAILABLE, 5.0, forced_by="sara")
    eng.set_presence("anna", Presence.AWAY, 6.0, code="meeting", forced_by="sara")
    eng.set_presence("anna", Presence.OFFLINE, 7.0, forced_by="sara")
    assert eng.agents["anna"].presence is Presence.OFFLINE
