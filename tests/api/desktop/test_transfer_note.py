"""A transfer to a named colleague with a note, over the real websocket: the note rides with
the offer and is kept with the conversation, which the new agent can read whole; the desktop
setup (queues, canned replies, colleagues, outcome codes) for a desktop token."""

from __future__ import annotations

import httpx

from tests.live import ThreadServer, admin_headers, contact_body, online_desktop


async def test_the_note_reaches_the_colleague_and_stays_with_the_conversation(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    anna = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    posted = await client.post("/v1/contacts", json=contact_body("note-1"))
    contact_id = posted.json()["contact_id"]
    offer = await anna.next_event("offer")
    assert (await anna.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    bruno = await online_desktop(server, client, "bruno", skills={"billing": 5}, languages=["it"])
    await client.post(
        f"/v1/contacts/{contact_id}/messages", json={"text": "il mio numero cliente è 777"}
    )
    moved = await anna.request(
        "transfer", contact_id=contact_id, agent="bruno", note="vuole lo storno di ottobre"
    )
    assert moved["type"] == "ack", moved
    handed = await bruno.next_event("offer")
    assert handed["contact"]["transfer_note"] == {
        "from": "anna",
        "name": "anna",
        "note": "vuole lo storno di ottobre",
    }

    # the whole conversation, for whoever holds it or has it on offer (not for anna now)
    url = f"/v1/desktop/contacts/{contact_id}/conversation"
    read = await client.get(url, headers={"Authorization": f"Bearer {bruno.token}"})
    assert read.status_code == 200, read.text
    assert [(m["kind"], m["text"]) for m in read.json()] == [
        ("message", "il mio numero cliente è 777"),
        ("transfer_note", "vuole lo storno di ottobre"),
    ]
    assert (
        await client.get(url, headers={"Authorization": f"Bearer {anna.token}"})
    ).status_code == 403
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=admin_headers())).status_code == 200
    await anna.close()
    await bruno.close()


async def test_a_refused_transfer_leaves_no_note(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    anna = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    contact_id = (await client.post("/v1/contacts", json=contact_body("note-2"))).json()[
        "contact_id"
    ]
    offer = await anna.next_event("offer")
    await anna.request("accept", offer_id=offer["offer_id"])
    refused = await anna.request("transfer", contact_id=contact_id, agent="nobody", note="x")
    assert refused["type"] == "error"
    assert "transfer_note" not in server.app.state.runtime.contexts[contact_id] or (
        server.app.state.runtime.contexts[contact_id]["transfer_note"] is None
    )
    read = await client.get(
        f"/v1/desktop/contacts/{contact_id}/conversation",
        headers={"Authorization": f"Bearer {anna.token}"},
    )
    assert read.json() == []
    await anna.close()


async def test_desktop_setup_for_a_desktop_token(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    anna = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    setup = await client.get("/v1/desktop/setup", headers={"Authorization": f"Bearer {anna.token}"})
    assert setup.status_code == 200
    body = setup.json()
    assert {q["name"] for q in body["queues"]} >= {"general", "billing"}
    assert body["agents"] == [{"agent_id": "anna", "name": "anna"}]
    assert body["outcomes"] == []  # none in the test config
    assert (await client.get("/v1/desktop/setup")).status_code == 401
    wrong = await client.get("/v1/desktop/setup", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    await anna.close()


async def test_page_assets_are_served_and_pages_run_no_inline_script(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    script = await client.get("/static/desktop.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert (await client.get("/static/pages.css")).headers["content-type"].startswith("text/css")
    for bad in ("/static/nope.js", "/static/..%2Fserver%2Fapp.py", "/static/desktop.html"):
        assert (await client.get(bad)).status_code == 404, bad
    for path in ("/desktop", "/wallboard", "/chat", "/signin"):
        page = await client.get(path)
        assert "<script>" not in page.text, path
        policy = page.headers["content-security-policy"]
        assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], path
