"""The wait estimate over real HTTP: the contact API's answer and the contact view."""

from __future__ import annotations

import httpx

from router.estimate import DEFAULT_HANDLE
from skills.vocabulary import Channel
from tests.live import ThreadServer, admin_headers, contact_body, online_desktop


async def test_contact_api_gives_the_estimated_wait(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    first = (await client.post("/v1/contacts", json=contact_body("w0"))).json()
    assert first["estimated_wait"] is None  # nobody logged in could take it
    desk = await online_desktop(server, client, "w1", skills={"billing": 5}, languages=["it"])
    for n in (1, 2):
        await client.post("/v1/contacts", json=contact_body(f"w{n}"))
    for _ in range(3):  # chat capacity 3: w0, w1, w2 are offered
        await desk.next_event("offer")
    reply = (await client.post("/v1/contacts", json=contact_body("w3"))).json()
    # w3 waits behind nobody for one of 3 busy slots: handle time / 3
    assert reply["estimated_wait"] == round(DEFAULT_HANDLE[Channel.CHAT] / 3, 1)
    view = await client.get(f"/v1/contacts/{reply['contact_id']}", headers=admin_headers())
    assert view.json()["estimated_wait"] == reply["estimated_wait"]
    estimates = (await client.get("/v1/estimates", headers=admin_headers())).json()
    billing = next(e for e in estimates if (e["queue"], e["channel"]) == ("billing", "chat"))
    # a new contact would wait behind w3 for one of the 3 busy slots
    assert billing["ahead"] == 1 and billing["agent_slots"] == 3
    assert billing["seconds"] == round(2 * DEFAULT_HANDLE[Channel.CHAT] / 3, 1)
    assert billing["open"] is True
    await desk.close()
