"""The manual "closed now" switch over real HTTP: a new contact gets the after-hours
notice, explain says the queue is closed, /v1/hours lists it, reopening undoes it."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.ops.explain_text import format_explanation
from tests.live import ThreadServer, admin_headers, contact_body


async def test_closing_a_queue_by_hand(client: httpx.AsyncClient) -> None:
    refused = await client.post("/v1/admin/queues/billing/close", json={"reason": "x"})
    assert refused.status_code == 401
    missing = await client.post("/v1/admin/queues/nope/close", json={}, headers=admin_headers())
    assert missing.status_code == 404 and "no queue 'nope'" in missing.text
    closed = await client.post(
        "/v1/admin/queues/billing/close", json={"reason": "flooded office"}, headers=admin_headers()
    )
    assert closed.status_code == 200 and closed.json()["reason"] == "flooded office"

    reply = await client.post("/v1/contacts", json=contact_body("h1"))
    assert reply.status_code == 202, reply.text
    accepted = reply.json()
    assert accepted["queue"] == "billing"
    assert accepted["notice"] == (
        "We are closed now; we open again as soon as possible. Your request is queued."
    )
    assert accepted["after_hours"]["text"] == "closed until reopened (closed now: flooded office)"

    hours = (await client.get("/v1/hours", headers=admin_headers())).json()
    billing = next(q for q in hours if q["queue"] == "billing")
    assert billing["closed_by_hand"]["reason"] == "flooded office"
    assert billing["channels"]["chat"]["open"] is False
    assert next(q for q in hours if q["queue"] == "tech")["channels"]["chat"]["open"] is True

    explained = (
        await client.get(f"/v1/contacts/{accepted['contact_id']}/explain", headers=admin_headers())
    ).json()
    assert explained["hours"]["text"] == "closed until reopened (closed now: flooded office)"
    text = format_explanation(explained)
    assert "arrived while billing was closed until reopened" in text
    assert "queue now closed until reopened (closed now: flooded office)" in text

    reopened = await client.post("/v1/admin/queues/billing/reopen", headers=admin_headers())
    assert reopened.json() == {"queue": "billing", "closed": False, "was_closed_by_hand": True}
    again = (await client.post("/v1/contacts", json=contact_body("h2"))).json()
    assert again["notice"] is None and again["after_hours"] is None


async def test_a_queue_closed_by_hand_stays_closed_after_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "switch.db"
    first = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            closed = await http.post(
                "/v1/admin/queues/billing/close", json={"reason": "strike"}, headers=admin_headers()
            )
            assert closed.status_code == 200
    finally:
        first.stop()
    second = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=second.url) as http:
            reply = (await http.post("/v1/contacts", json=contact_body("after-restart"))).json()
            assert reply["after_hours"]["text"] == "closed until reopened (closed now: strike)"
            await http.post("/v1/admin/queues/billing/reopen", headers=admin_headers())
    finally:
        second.stop()
    third = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=third.url) as http:
            reply = (await http.post("/v1/contacts", json=contact_body("reopened"))).json()
            assert reply["after_hours"] is None
    finally:
        third.stop()
