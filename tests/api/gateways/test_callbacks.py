"""Callbacks over real HTTP and websockets: the caller asks to be called back and hangs
up; the contact keeps its place, the agent's offer says "callback", an unanswered
callback is queued again by policy."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from tests.engine_helpers import CONFIG
from tests.live import ThreadServer, admin_headers, contact_body, online_desktop

SERVER_CONFIG = CONFIG + "callbacks: {retry_after: 1s, max_attempts: 2}\n"


async def test_a_callback_keeps_its_place_and_is_retried(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    body = contact_body("cb1", channel="voice", customer={"phone": "+39 02 1234 5678"})
    contact_id = (await client.post("/v1/contacts", json=body)).json()["contact_id"]
    naive = await client.post(
        f"/v1/contacts/{contact_id}/callback", json={"at": "2030-01-01T09:00:00"}
    )
    assert naive.status_code == 422 and "zone" in naive.text
    far = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()
    assert (
        await client.post(f"/v1/contacts/{contact_id}/callback", json={"at": far})
    ).status_code == 409
    asked = await client.post(
        f"/v1/contacts/{contact_id}/callback", json={"number": "+39 333 1234567"}
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["callback"]["number"] == "+39 333 1234567"
    ended = (await client.post(f"/v1/contacts/{contact_id}/end")).json()
    assert ended["outcome"] == "callback_kept"  # hanging up does not abandon it

    desk = await online_desktop(server, client, "cb-a", skills={"billing": 5}, languages=["it"])
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == contact_id
    assert offer["contact"]["callback"]["number"] == "+39 333 1234567"
    await desk.request("accept", offer_id=offer["offer_id"])
    await desk.request("wrap_up", contact_id=contact_id, outcome="no_answer", resolved=False)
    again = await desk.next_event("offer", timeout=15)  # after retry_after (1 s)
    assert again["contact"]["contact_id"] == contact_id
    assert again["contact"]["callback"]["attempts"] == 1
    await desk.request("accept", offer_id=again["offer_id"])
    await desk.request("wrap_up", contact_id=contact_id, outcome="ok", resolved=True)

    explained = (
        await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    ).json()
    kinds = [decision["kind"] for decision in explained["decisions"]]
    assert "callback_requested" in kinds and "callback_retry" in kinds
    gone = await client.post(f"/v1/contacts/{contact_id}/callback", json={})
    assert gone.status_code == 409
    missing = await client.post("/v1/contacts/nope/callback", json={})
    assert missing.status_code == 404
    await desk.close()


async def test_a_callback_for_later_survives_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "callbacks.db"
    later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=2)
    first = ThreadServer(database, config=SERVER_CONFIG).start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            body = contact_body("cb-later", channel="voice")
            contact_id = (await http.post("/v1/contacts", json=body)).json()["contact_id"]
            asked = await http.post(
                f"/v1/contacts/{contact_id}/callback", json={"at": later.isoformat()}
            )
            assert asked.status_code == 200, asked.text
            view = (await http.get(f"/v1/contacts/{contact_id}", headers=admin_headers())).json()
            assert view["live"]["held_until"] == later.timestamp()
    finally:
        first.stop()
    second = ThreadServer(database, config=SERVER_CONFIG).start()
    try:
        async with httpx.AsyncClient(base_url=second.url) as http:
            view = (await http.get(f"/v1/contacts/{contact_id}", headers=admin_headers())).json()
            assert view["live"]["held_until"] == later.timestamp()  # still held
            ended = (await http.post(f"/v1/contacts/{contact_id}/end")).json()
            assert ended["outcome"] == "callback_kept"
    finally:
        second.stop()
