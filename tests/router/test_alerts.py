"""Wallboard alerts from the live engine state (injected clock, exact figures)."""

from __future__ import annotations

from router.alerts import alerts
from router.states import Presence
from skills.vocabulary import Channel
from tests.engine_helpers import agent, contact, engine, online


def test_unstaffed_queue_sla_breach_and_agent_over_break_limit() -> None:
    eng = engine()
    online(eng, agent("anna", billing=5), now=0.0)
    eng.upsert_agent(agent("tom", tech=5), 0.0)  # the only tech agent: offline
    eng.add_contact(contact("t1", "tech", channel=Channel.VOICE), 0.0)
    eng.add_contact(contact("t2", "tech", channel=Channel.CHAT), 5.0)
    eng.set_presence("anna", Presence.AWAY, 10.0, code="break")
    eng.add_contact(contact("b1", "billing", channel=Channel.VOICE), 10.0)  # anna could
    sla = {"voice": {"service_level": 0.5, "target": 0.8}, "chat": {"service_level": None}}
    found = alerts(eng, 10.0 + 901.0, sla)
    assert found[0] == {
        "kind": "unstaffed_queue",
        "queue": "tech",
        "waiting": 2,
        "channels": ["voice", "chat"],
    }
    breaches = [a for a in found if a["kind"] == "sla_breach"]
    assert [(a["queue"], a["channel"], a["waiting_past"]) for a in breaches] == [
        ("billing", "voice", 1),
        ("tech", "chat", 1),
        ("tech", "voice", 1),
    ]
    assert breaches[2]["oldest_wait_seconds"] == 911.0
    assert {"kind": "service_level", "channel": "voice", "service_level": 0.5, "target": 0.8} in (
        found
    )
    limit = [a for a in found if a["kind"] == "state_limit"]
    assert limit == [
        {
            "kind": "state_limit",
            "agent_id": "anna",
            "code": "break",
            "limit": 900.0,
            "seconds_in_state": 901.0,
        }
    ]
    # tom logs in (away, he may come back): the tech queue is no longer unstaffed
    eng.connected("tom", 912.0)
    eng.set_presence("tom", Presence.AWAY, 912.0, code="meeting")
    assert not [a for a in alerts(eng, 913.0, {}) if a["kind"] == "unstaffed_queue"]
    assert not [a for a in alerts(eng, 5.0, {}) if a["kind"] in ("sla_breach", "state_limit")]
