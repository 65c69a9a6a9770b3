"""GET /metrics: Prometheus exposition of routing counters and live queue state."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.engine_helpers import CONFIG
from tests.live import ThreadServer, contact_body, online_desktop

SERVER_CONFIG = CONFIG + "reports: {short_abandon: 60s}\n"  # generous: a busy machine


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_follow_routing(server: ThreadServer, client: httpx.AsyncClient) -> None:
    for i in range(3):
        await client.post("/v1/contacts", json=contact_body(f"mx{i}"))
    invalid = await client.post("/v1/contacts", json={**contact_body("mx-bad"), "channel": "fax"})
    assert invalid.status_code == 422
    before = samples((await client.get("/metrics")).text)
    # each POST /v1/contacts timed from reaching the app to its answer, by status
    assert before[("centralino_intake_seconds_count", (("status", "202"),))] == 3
    assert before[("centralino_intake_seconds_count", (("status", "422"),))] == 1
    assert before[("centralino_intake_seconds_sum", (("status", "202"),))] > 0
    # the journal's commits by lane (SQLite: one lane for all)
    assert before[("centralino_journal_commit_seconds_count", (("lane", "all"),))] >= 3
    assert before[("centralino_journal_batch_units_sum", (("lane", "all"),))] >= 3
    billing_chat = (("channel", "chat"), ("queue", "billing"))
    assert before[("centralino_queue_waiting", billing_chat)] == 3
    assert before[("centralino_queue_oldest_wait_seconds", billing_chat)] >= 0
    assert before[("centralino_contacts_total", billing_chat)] == 3
    # the test config's vip-billing reads contact.attributes.vip without has(): it fails at
    # run time on these contacts (no attributes), counts as no match, and is counted here
    assert before[("centralino_rule_errors_total", (("rule", "vip-billing"),))] == 3
    desk = await online_desktop(server, client, "m1", skills={"billing": 5}, languages=["it"])
    offer = await desk.next_event("offer")
    await desk.request("accept", offer_id=offer["offer_id"])
    await desk.request(
        "wrap_up", contact_id=offer["contact"]["contact_id"], outcome="ok", resolved=True
    )
    first = (await desk.next_event("offer"))["offer_id"]
    await desk.request("reject", offer_id=first)
    await client.post(
        f"/v1/contacts/{(await desk.next_event('offer'))['contact']['contact_id']}/end"
    )
    after = samples((await client.get("/metrics")).text)
    assert after[("centralino_offers_total", billing_chat)] >= 3
    accepted = (*billing_chat, ("outcome", "accepted"))
    assert after[("centralino_offer_outcomes_total", tuple(sorted(accepted)))] == 1
    rejected = (*billing_chat, ("outcome", "rejected"))
    assert after[("centralino_offer_outcomes_total", tuple(sorted(rejected)))] == 1
    within = tuple(sorted((*billing_chat, ("within_sla", "true"))))
    assert after[("centralino_answered_total", within)] == 1
    assert after[("centralino_completed_total", billing_chat)] == 1
    assert after[("centralino_abandoned_total", billing_chat)] == 1
    # it left within a minute of arriving: a short abandon (reports.short_abandon)
    assert after[("centralino_short_abandoned_total", billing_chat)] == 1
    assert after[("centralino_agents", (("presence", "available"),))] == 1
    assert after[("centralino_routing_latency_seconds_count", ())] > 5
    # each desktop message answered is timed until its ack, by type (the login is not one)
    for action, count in (("accept", 1), ("wrap_up", 1), ("reject", 1)):
        assert after[("centralino_desktop_ack_seconds_count", (("action", action),))] == count
    assert after[("centralino_desktop_ack_seconds_sum", (("action", "accept"),))] > 0
    # each offer written to the desktop's socket, timed from its contact's arrival
    assert after[("centralino_offer_sent_seconds_count", ())] == 3
    assert after[("centralino_offer_sent_seconds_sum", ())] > 0
    await desk.request("presence", presence="away", code="break")
    away = samples((await client.get("/metrics")).text)
    assert away[("centralino_agents_away", (("code", "break"), ("over_limit", "false")))] == 1
    assert away[("centralino_desktop_ack_seconds_count", (("action", "presence"),))] == 1
    await desk.close()
