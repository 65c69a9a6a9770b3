"""A decision the engine applied but the database refused: the router does not acknowledge
it, rebuilds its state from the record (desktops log in again) and routes on from there,
instead of drifting from what is stored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import websockets

from tests.live import Desktop, ThreadServer, admin_headers, contact_body, create_agent
from tests.receivers import until

REFUSE_ASSIGNING = """
CREATE TRIGGER refuse_assigning BEFORE UPDATE OF state ON contacts
WHEN NEW.state = 'assigned' AND NEW.external_id = 'doomed'
BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
"""


async def test_a_refused_commit_is_not_acked_and_the_state_is_reloaded(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    database = tmp_path / "centralino.db"
    token = await create_agent(client, "anna", skills={"billing": 5}, languages=["it"])
    desk = Desktop(server.ws_url, token)
    await desk.connect()
    contact_id = (await client.post("/v1/contacts", json=contact_body("doomed"))).json()[
        "contact_id"
    ]
    offer = await desk.next_event("offer")
    with sqlite3.connect(database) as db:
        db.execute(REFUSE_ASSIGNING)

    await desk.ws.send(json.dumps({"type": "accept", "offer_id": offer["offer_id"], "ref": "a"}))
    answers = []
    try:
        while True:  # until the router closes the session to make it log in again
            answers.append(await desk.recv(timeout=60))
    except websockets.ConnectionClosed as closed:
        assert closed.rcvd is not None and closed.rcvd.code == 1012
    assert not [a for a in answers if a.get("ref") == "a" and a["type"] == "ack"]
    assert [a["code"] for a in answers if a.get("ref") == "a"] in ([], ["not_recorded"])

    def stored_state() -> str:
        reply = httpx.get(f"{server.url}/v1/contacts/{contact_id}", headers=admin_headers())
        return str(reply.json()["state"])

    # the engine follows the record again: the contact is not assigned, it is offered anew
    await until(lambda: stored_state() in ("queued", "offered"), what="the record's state")
    metrics = httpx.get(f"{server.url}/metrics").text
    assert "centralino_state_reloads_total 1.0" in metrics
    with sqlite3.connect(database) as db:
        db.execute("DROP TRIGGER refuse_assigning")
    again = Desktop(server.ws_url, token)
    welcome = await again.connect()
    assert welcome["type"] == "welcome" and welcome["resumed"] is False
    offer = await again.next_event("offer", timeout=30)
    assert offer["contact"]["contact_id"] == contact_id
    assert (await again.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    with sqlite3.connect(database) as db:
        (state,) = db.execute("select state from contacts where id = ?", (contact_id,)).fetchone()
    assert state == "assigned"
    await again.close()
