"""From the engine to the report: decisions made on an injected clock, recorded by the
real recorder into SQLite and PostgreSQL, aggregated by the job; exact figures."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from router.decisions import Decisions
from router.engine import Engine
from router.recorder import Recorder
from router.reports.job import GRACE, Reporter
from router.reports.query import build
from router.states import Presence
from router.store.repository import Store
from tests.engine_helpers import agent, contact
from tests.router.reports.day import S
from tests.router.reports.test_aggregate import CONFIG


async def test_engine_decisions_become_exact_report_figures(store: Store) -> None:
    engine = Engine(CONFIG)
    recorder = Recorder(store)

    def at(offset: float, decisions: Decisions) -> None:
        recorder.record(S + offset, decisions)

    async def arrives(offset: float, contact_id: str, intent: str) -> None:
        new = contact(contact_id, intent, arrival=S + offset)
        await store.add_contact(
            {
                "id": contact_id,
                "gateway": "gw",
                "external_id": contact_id,
                "channel": new.channel.value,
                "queue": new.policy.queue,
                "rule": new.policy.rule,
                "policy": new.policy.to_dict(),
                "state": "queued",
                "arrival": new.arrival,
                "updated_at": new.arrival,
            }
        )
        at(offset, engine.add_contact(new, S + offset))

    at(0, engine.upsert_agent(agent("anna", billing=5), S))
    at(0, engine.connected("anna", S))
    at(0, engine.set_presence("anna", Presence.AVAILABLE, S))
    await arrives(10, "k1", "billing")  # offered to anna at once
    offer_id = engine.contacts["k1"].offer_id
    assert offer_id is not None
    at(40, engine.accept("anna", offer_id, S + 40))
    at(100, engine.end_contact("k1", S + 100, "agent", "anna"))
    at(130, engine.wrap_up("anna", "k1", S + 130, outcome="ok", resolved=True))
    await arrives(200, "k2", "tech")  # nobody has tech: it waits
    at(203, engine.abandon("k2", S + 203))  # gone after 3 s: a short abandon
    at(300, engine.set_presence("anna", Presence.AWAY, S + 300, code="break"))
    at(600, engine.set_presence("anna", Presence.AVAILABLE, S + 600))
    await recorder.flush()
    assert recorder.failed == 0

    await Reporter(store.reports, lambda: CONFIG).refresh(S + 900 + GRACE)
    counts, time = await store.reports.stored(S, S + 900)
    utc = ZoneInfo("UTC")
    rows = {
        (row["queue"], row["channel"]): row
        for row in build(counts, time, period="interval", by=("queue", "channel"), tz=utc)["rows"]
    }
    billing, tech = rows[("billing", "chat")], rows[("tech", "chat")]
    assert (billing["offered"], billing["answered"], billing["answered_within_sla"]) == (1, 1, 1)
    assert (billing["asa"], billing["handled"], billing["aht"]) == (30.0, 1, 90.0)
    assert billing["service_level"] == 1.0
    assert (tech["offered"], tech["abandoned"], tech["short_abandoned"]) == (1, 1, 1)
    assert tech["service_level"] is None and tech["abandon_rate"] is None
    (anna,) = build(counts, time, period="interval", by=("agent",), tz=utc)["rows"][1:]
    assert anna["agent"] == "anna"
    assert anna["time"] == {"available": 600.0, "away:break": 300.0, "busy": 90.0}
    assert anna["logged_in"] == 900.0 and anna["occupancy"] == 0.1
