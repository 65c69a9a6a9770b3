"""Agent desktops over real websockets against a running server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.api.ops.test_metrics import samples
from tests.live import (
    Desktop,
    ThreadServer,
    TransportWrites,
    admin_headers,
    contact_body,
    create_agent,
    online_desktop,
)


async def test_login_offer_accept_wrap_up(server: ThreadServer, client: httpx.AsyncClient) -> None:
    token = await create_agent(
        client, "anna", name="Anna", skills={"billing": 5}, languages=["it", "en"]
    )
    desk = Desktop(server.ws_url, token)
    welcome = await desk.connect()
    assert welcome["type"] == "welcome" and welcome["agent"]["agent_id"] == "anna"
    assert welcome["state"]["presence"] == "offline"  # logging in follows as events
    assert (await desk.next_event("presence"))["presence"] == "available"
    posted = await client.post(
        "/v1/contacts",
        json=contact_body(
            "m1",
            attributes={"order": "A-77"},
            customer={"name": "Mario Rossi", "email": "mario@example.it"},
        ),
    )
    contact_id = posted.json()["contact_id"]
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == contact_id
    assert offer["contact"]["customer"]["name"] == "Mario Rossi"
    assert offer["contact"]["text"].startswith("Buongiorno")
    assert offer["explanation"]["rule"] == "billing"
    assert offer["seq"] > welcome["seq"]
    ack = await desk.request("accept", offer_id=offer["offer_id"])
    assert ack["type"] == "ack" and ack["of"] == "accept"
    assert (await desk.next_event("assigned"))["contact_id"] == contact_id
    await desk.request("end", contact_id=contact_id)
    assert (await desk.next_event("wrap_up"))["ended_by"] == "agent"
    await desk.request(
        "wrap_up", contact_id=contact_id, outcome="spiegata la bolletta", resolved=True
    )
    done = await desk.next_event("completed")
    assert done["outcome"] == "spiegata la bolletta" and done["resolved"] is True
    stored = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    assert stored.json()["state"] == "completed"
    assert stored.json()["resolved"] is True
    await desk.close()


async def test_bad_token_and_missing_login_are_refused(server: ThreadServer) -> None:
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "login", "token": "nope"}))
        reply = json.loads(await ws.recv())
        assert reply["code"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    async with websockets.connect(server.ws_url) as ws:
        await ws.send(json.dumps({"type": "accept", "offer_id": "x"}))
        assert json.loads(await ws.recv())["code"] == "login_required"


async def test_bad_messages_get_clear_errors_and_session_survives(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    token = await create_agent(client, "bea", skills={"billing": 5}, languages=["it"])
    desk = Desktop(server.ws_url, token)
    await desk.connect()
    await desk.ws.send("{oops")
    assert "not JSON" in (await desk.next_event("error"))["message"]
    await desk.ws.send(json.dumps({"type": "fly"}))
    assert (await desk.next_event("error"))["code"] == "bad_message"
    reply = await desk.request("transfer", contact_id="c", queue="cards", agent="x")
    assert reply["code"] == "bad_message" and "exactly one" in reply["message"]
    reply = await desk.request("accept", offer_id="o-unknown")
    assert reply["code"] == "unknown_offer"
    reply = await desk.request("wrap_up", contact_id="nope", outcome="x", resolved=True)
    assert reply["code"] == "unknown_contact"
    assert (await desk.request("ping"))["type"] == "pong"
    await desk.close()


async def test_agent_cannot_touch_another_agents_offer(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    owner = await online_desktop(server, client, "own", skills={"billing": 5}, languages=["it"])
    other = await online_desktop(server, client, "oth", skills={"tech": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("m-own"))
    offer = await owner.next_event("offer")
    for kind in ("accept", "reject"):
        reply = await other.request(kind, offer_id=offer["offer_id"])
        assert reply["code"] == "unknown_offer"
    reply = await other.request("end", contact_id=offer["contact"]["contact_id"])
    assert reply["code"] == "not_allowed"
    assert (await owner.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    await owner.close()
    await other.close()


async def test_reject_reroutes_to_another_desktop(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    first = await online_desktop(server, client, "first", skills={"billing": 5}, languages=["it"])
    await asyncio.sleep(0.05)  # "first" has been idle longer than "second"
    second = await online_desktop(server, client, "second", skills={"billing": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("m-rej"))
    offer = await first.next_event("offer")
    await first.request("reject", offer_id=offer["offer_id"], reason="sto uscendo")
    ended = await first.next_event("offer_ended")
    assert ended["outcome"] == "rejected"
    rerouted = await second.next_event("offer")
    assert rerouted["contact"]["contact_id"] == offer["contact"]["contact_id"]
    assert rerouted["explanation"]["trigger"] == "rejected"
    await first.close()
    await second.close()


async def test_reconnecting_desktop_resumes_without_losing_an_offer(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    token = await create_agent(client, "carla", skills={"billing": 5}, languages=["it"])
    desk = Desktop(server.ws_url, token)
    welcome = await desk.connect()
    stream = welcome["stream"]
    await desk.close()  # connection drops; the agent stays logged in during the grace
    await asyncio.sleep(0.1)
    posted = await client.post("/v1/contacts", json=contact_body("m-resume"))
    contact_id = posted.json()["contact_id"]
    back = Desktop(server.ws_url, token)
    welcome = await back.connect(resume={"stream": stream, "after_seq": desk.last_seq})
    assert welcome["resumed"] is True
    offer = await back.next_event("offer")  # replayed
    assert offer["contact"]["contact_id"] == contact_id
    assert [o["offer_id"] for o in welcome["state"]["offers"]] == [offer["offer_id"]]
    assert (await back.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    # resuming from an unknown stream gives the snapshot only
    again = Desktop(server.ws_url, token)
    welcome = await again.connect(resume={"stream": "old-boot:carla", "after_seq": 3})
    assert welcome["resumed"] is False
    assert welcome["state"]["contacts"][0]["contact"]["contact_id"] == contact_id
    await again.close()


async def test_a_login_whose_token_cannot_be_read_is_told_to_log_in_again(
    tmp_path: Path,
) -> None:
    """The store cannot be read (here the agents' table is gone from under the server):
    the login gets ``unavailable`` and the socket closes with 1013, "try again later";
    once the store reads again, so does the login."""
    database = tmp_path / "centralino.db"
    server = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            token = await create_agent(client, "anna", skills={"billing": 5}, languages=["it"])
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE agents RENAME TO agents_gone")
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "login", "token": token, "ref": "l1"}))
            reply = json.loads(await ws.recv())
            assert reply["code"] == "unavailable" and reply["ref"] == "l1"
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        with sqlite3.connect(database) as db:
            db.execute("ALTER TABLE agents_gone RENAME TO agents")
        desk = Desktop(server.ws_url, token)
        assert (await desk.connect())["agent"]["agent_id"] == "anna"
        await desk.close()
    finally:
        server.stop()


async def test_a_resume_past_the_replay_buffers_bytes_gets_the_snapshot(tmp_path: Path) -> None:
    """CENTRALINO_REPLAY_BUFFER_BYTES bounds what an agent's stream keeps: with room for
    about one event, a desktop that missed two offers cannot replay them and is welcomed
    with the state snapshot instead, which holds both."""
    server = ThreadServer(tmp_path / "centralino.db", replay_buffer_bytes=1).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            token = await create_agent(client, "dora", skills={"billing": 5}, languages=["it"])
            desk = Desktop(server.ws_url, token)
            welcome = await desk.connect()
            await desk.next_event("presence")
            await desk.close()
            posted = [
                (await client.post("/v1/contacts", json=contact_body(f"m-{n}"))).json()
                for n in (1, 2)
            ]
            back = Desktop(server.ws_url, token)
            resume = {"stream": welcome["stream"], "after_seq": desk.last_seq}
            welcome = await back.connect(resume=resume)
            assert welcome["resumed"] is False
            offered = {offer["contact"]["contact_id"] for offer in welcome["state"]["offers"]}
            assert offered == {contact["contact_id"] for contact in posted}
            await back.close()
            kept = samples((await client.get("/metrics")).text)
            assert kept[("centralino_replay_buffer_events", ())] == 1  # dora's newest
            assert kept[("centralino_replay_buffer_bytes", ())] > 1
    finally:
        server.stop()


async def test_second_login_replaces_first_connection(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    token = await create_agent(client, "dora", skills={"billing": 5}, languages=["it"])
    first = Desktop(server.ws_url, token)
    await first.connect()
    second = Desktop(server.ws_url, token)
    await second.connect()
    with pytest.raises(websockets.ConnectionClosed) as closed:
        for _ in range(5):
            await first.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001
    await client.post("/v1/contacts", json=contact_body("m-second"))
    assert (await second.next_event("offer"))["type"] == "offer"
    await second.close()


async def test_presence_and_transfer_keep_context(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    sender = await online_desktop(server, client, "s1", skills={"billing": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("m-tr"))
    offer = await sender.next_event("offer")
    contact_id = offer["contact"]["contact_id"]
    await sender.request("accept", offer_id=offer["offer_id"])
    receiver = await online_desktop(
        server, client, "r1", skills={"cards": 4}, languages=["it"], presence="away"
    )
    assert (await sender.request("transfer", contact_id=contact_id, queue="cards"))["type"] == "ack"
    assert (await sender.next_event("transferred"))["target"] == {"queue": "cards"}
    await receiver.request("presence", presence="available")
    moved = await receiver.next_event("offer")
    assert moved["contact"]["contact_id"] == contact_id
    assert moved["contact"]["text"].startswith("Buongiorno")
    explained = await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    kinds = [d["kind"] for d in explained.json()["decisions"]]
    assert kinds[:4] == ["offered", "offer_accepted", "assigned", "transferred"]
    await sender.close()
    await receiver.close()


async def test_what_follows_a_recorded_action_and_cannot_be_stored_is_told_apart(
    tmp_path: Path,
) -> None:
    """The note of a transfer, then the follow-up of a wrap-up, cannot be stored (their
    tables gone from under the server): the transfer and the wrap-up, recorded first,
    stand; the agent gets ``partly_recorded`` naming what was not kept (not
    ``unavailable``: resent, the wrap-up would be answered as done), and the session goes
    on (before, the error ended it)."""
    database = tmp_path / "centralino.db"
    server = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            desk = await online_desktop(
                server, client, "s1", skills={"billing": 5, "cards": 5}, languages=["it"]
            )
            await client.post("/v1/contacts", json=contact_body("m-note"))
            offer = await desk.next_event("offer")
            contact_id = offer["contact"]["contact_id"]
            assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
            with sqlite3.connect(database) as db:
                db.execute("ALTER TABLE messages RENAME TO messages_gone")
            reply = await desk.request(
                "transfer", contact_id=contact_id, queue="cards", note="Chiede un rimborso"
            )
            assert reply["type"] == "error" and reply["code"] == "partly_recorded", reply
            assert "the transfer was made; its note was not stored" in reply["message"]
            assert (await desk.next_event("transferred"))["target"] == {"queue": "cards"}
            assert (await desk.request("ping"))["type"] == "pong"  # the session goes on

            await client.post("/v1/contacts", json=contact_body("m-follow"))
            offer = await desk.next_event("offer")
            second = offer["contact"]["contact_id"]
            assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
            assert (await desk.request("end", contact_id=second))["type"] == "ack"
            with sqlite3.connect(database) as db:
                db.execute("ALTER TABLE follow_ups RENAME TO follow_ups_gone")
            reply = await desk.request(
                "wrap_up", contact_id=second, outcome="ok", resolved=True, follow_up_in="2d"
            )
            assert reply["type"] == "error" and reply["code"] == "partly_recorded", reply
            assert "the wrap-up was recorded; its follow-up was not stored" in reply["message"]
            stored = await client.get(f"/v1/contacts/{second}", headers=admin_headers())
            assert stored.json()["state"] == "completed"
            assert (await desk.request("ping"))["type"] == "pong"
            await desk.close()
    finally:
        server.stop()


async def test_an_accept_or_wrap_up_sent_again_gets_the_same_answer(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    """A desktop whose connection died before the ack arrived resends by id: the first
    answer again, nothing done twice; someone else's ids are still refused."""
    token = await create_agent(client, "ugo", skills={"billing": 5}, languages=["it"])
    desk = Desktop(server.ws_url, token)
    await desk.connect()
    contact_id = (await client.post("/v1/contacts", json=contact_body("again"))).json()[
        "contact_id"
    ]
    offer = await desk.next_event("offer")
    first = await desk.request("accept", offer_id=offer["offer_id"])
    assert first["type"] == "ack" and "duplicate" not in first
    await desk.close()
    again = Desktop(server.ws_url, token)  # the desktop comes back and resends
    await again.connect()
    resent = await again.request("accept", offer_id=offer["offer_id"])
    assert resent["type"] == "ack" and resent["of"] == "accept" and resent["duplicate"] is True
    await again.request("end", contact_id=contact_id)
    done = await again.request("wrap_up", contact_id=contact_id, outcome="ok", resolved=True)
    assert done["type"] == "ack" and "duplicate" not in done
    twice = await again.request("wrap_up", contact_id=contact_id, outcome="ok", resolved=True)
    assert twice["type"] == "ack" and twice["duplicate"] is True
    other = await online_desktop(server, client, "vera", skills={"billing": 5}, languages=["it"])
    refused = await other.request("accept", offer_id=offer["offer_id"])
    assert refused["type"] == "error" and refused["code"] == "unknown_offer"
    stored = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    assert stored.json()["state"] == "completed"
    offers = stored.json().get("offers")
    assert offers is None or [o["outcome"] for o in offers] == ["accepted"]
    await again.close()
    await other.close()


def desktop_protocol(server: ThreadServer) -> Any:
    """The websocket protocol of the one desktop connected (uvicorn's open connections)."""
    connections = server.server.server_state.connections
    (protocol,) = [c for c in connections if getattr(c, "scope", {}).get("path") == "/v1/desktop"]
    return protocol


async def test_an_actions_events_go_out_with_its_ack_in_one_write(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    """Accepting an offer ends it and assigns the contact: those events wait for the
    accept's ack (its commit) and go out with it, in order, in one write to the socket;
    so do ending (wrap_up) and wrapping up (completed)."""
    desk = await online_desktop(server, client, "uno", skills={"billing": 5}, languages=["it"])
    await desk.next_event("presence")
    writes = TransportWrites(desktop_protocol(server))
    posted = await client.post("/v1/contacts", json=contact_body("one-write"))
    contact_id = posted.json()["contact_id"]
    offer = await desk.next_event("offer")
    assert writes.take() == 1
    ack = await desk.request("accept", offer_id=offer["offer_id"])
    assert ack["type"] == "ack"
    assert [event["type"] for event in desk.events] == ["offer_ended", "assigned"]
    assert writes.take() == 1
    desk.events.clear()
    await desk.request("end", contact_id=contact_id)
    await desk.request("wrap_up", contact_id=contact_id, outcome="ok", resolved=True)
    assert [event["type"] for event in desk.events] == ["wrap_up", "completed"]
    assert writes.take() == 2
    await desk.close()
