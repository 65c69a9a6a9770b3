"""Ops endpoints: admin and supervisor auth, agent admin, queue and agent state, explain."""

from __future__ import annotations

import json
from typing import Any

import httpx
import websockets

from tests.live import (
    Desktop,
    ThreadServer,
    admin_headers,
    contact_body,
    create_agent,
    online_desktop,
)

SUPERVISOR = "supervisor-token"


def SERVER_SETTINGS() -> dict[str, Any]:
    return {"supervisor_token": SUPERVISOR}


async def test_ops_endpoints_need_the_admin_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/queues")).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (await client.get("/v1/queues", headers=bad)).status_code == 403
    assert (await client.put("/v1/agents/x", json={}, headers=bad)).status_code == 403
    assert (await client.get("/v1/queues", headers=admin_headers())).status_code == 200


async def test_supervisors_read_but_do_not_change(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    supervisor = {"Authorization": f"Bearer {SUPERVISOR}"}
    await create_agent(client, "eva", skills={"billing": 5}, languages=["it"])
    contact = (await client.post("/v1/contacts", json=contact_body("sup-1"))).json()
    for path in (
        "/v1/queues",
        "/v1/agents",
        "/v1/agents/eva",
        "/v1/queues/billing/contacts",
        f"/v1/contacts/{contact['contact_id']}",
        f"/v1/contacts/{contact['contact_id']}/explain",
        "/v1/feedback",
    ):
        assert (await client.get(path, headers=supervisor)).status_code == 200, path
    changes = [
        client.put("/v1/agents/mallory", json={"skills": {"billing": 9}}, headers=supervisor),
        client.post("/v1/agents/eva/token", headers=supervisor),
        client.post("/v1/admin/reload", headers=supervisor),
    ]
    for change in changes:
        reply = await change
        assert reply.status_code == 403, reply.text
    assert (await client.get("/v1/agents/mallory", headers=admin_headers())).status_code == 404
    board_url = server.url.replace("http", "ws") + "/v1/wallboard"
    async with websockets.connect(board_url) as board:
        await board.send(json.dumps({"token": SUPERVISOR}))
        snapshot = json.loads(await board.recv())
        assert [w["contact_id"] for w in snapshot["waiting"]] == [contact["contact_id"]]
    async with websockets.connect(board_url) as board:
        await board.send(json.dumps({"token": "not-a-token"}))
        assert json.loads(await board.recv())["code"] == "unauthorized"


async def test_agent_admin_validates_and_updates(client: httpx.AsyncClient) -> None:
    bad = await client.put(
        "/v1/agents/a1", json={"skills": {"billing": 9}}, headers=admin_headers()
    )
    assert bad.status_code == 422 and "level must be 1..5" in bad.text
    bad_id = await client.put("/v1/agents/bad id!", json={}, headers=admin_headers())
    assert bad_id.status_code == 422
    created = await client.put(
        "/v1/agents/a1",
        json={
            "name": "Anna",
            "skills": {"Billing": 3},
            "languages": ["IT", "en"],
            "capacity": {"chat": 2},
        },
        headers=admin_headers(),
    )
    body = created.json()
    assert body["created"] is True and len(body["token"]) > 20
    assert body["agent"]["skills"] == {"billing": 3}
    assert body["agent"]["languages"] == ["en", "it"]
    assert body["agent"]["capacity"]["chat"] == 2 and body["agent"]["capacity"]["voice"] == 1
    updated = await client.put(
        "/v1/agents/a1", json={"skills": {"billing": 5}}, headers=admin_headers()
    )
    assert updated.json()["created"] is False and "token" not in updated.json()
    assert updated.json()["agent"]["skills"] == {"billing": 5}
    rotated = await client.post("/v1/agents/a1/token", headers=admin_headers())
    assert rotated.json()["token"] != body["token"]
    missing = await client.post("/v1/agents/ghost/token", headers=admin_headers())
    assert missing.status_code == 404


async def test_rotated_token_replaces_old_one(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    old = await create_agent(client, "rot", skills={"billing": 2})
    new = (await client.post("/v1/agents/rot/token", headers=admin_headers())).json()["token"]
    assert (await Desktop(server.ws_url, old).connect())["type"] == "error"
    assert (await Desktop(server.ws_url, new).connect())["type"] == "welcome"


async def test_queue_and_agent_views(server: ThreadServer, client: httpx.AsyncClient) -> None:
    await create_agent(client, "en-only", skills={"billing": 5}, languages=["en"])
    desk = await online_desktop(server, client, "x", skills={"tech": 5}, languages=["it"])
    await client.post("/v1/contacts", json=contact_body("q1"))
    await client.post("/v1/contacts", json=contact_body("q2", urgency=0.9))
    queues = {
        q["queue"]: q for q in (await client.get("/v1/queues", headers=admin_headers())).json()
    }
    assert queues["billing"]["waiting"] == {"chat": 2}
    assert queues["tech"]["waiting_total"] == 0
    waiting = (await client.get("/v1/queues/billing/contacts", headers=admin_headers())).json()
    assert waiting[0]["priority"]["urgency"] == 18.0  # the upset customer first
    assert (
        await client.get("/v1/queues/nope/contacts", headers=admin_headers())
    ).status_code == 404
    agents = {
        a["agent_id"]: a for a in (await client.get("/v1/agents", headers=admin_headers())).json()
    }
    assert agents["x"]["presence"] == "available" and agents["x"]["connected"] is True
    assert agents["en-only"]["presence"] == "offline"
    await desk.close()


async def test_explain_shows_rule_and_why_still_waiting(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    desk = await online_desktop(server, client, "en1", skills={"billing": 5}, languages=["en"])
    low = Desktop(
        server.ws_url,
        await create_agent(client, "it-junior", skills={"billing": 2}, languages=["it"]),
    )
    await low.connect()
    posted = await client.post("/v1/contacts", json=contact_body("ex1"))
    contact_id = posted.json()["contact_id"]
    explained = (
        await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    ).json()
    assert explained["state"] == "queued"
    assert explained["triage"]["rule"] == "billing"
    assert explained["triage"]["rules_tried"][0]["rule"] == "vip-billing"
    queued = explained["decisions"][0]
    assert queued["kind"] == "queued" and queued["reason"] == "arrival"
    assert queued["explanation"]["search"]["excluded"] == {
        "language": 1,
        "proficiency below this step": 1,
    }
    reasons = explained["why_waiting"]["reasons"]
    assert reasons == {"does not speak it": 1, "billing proficiency 2 < 4 required at this step": 1}
    assert (
        await client.get("/v1/contacts/nope/explain", headers=admin_headers())
    ).status_code == 404
    await desk.close()
    await low.close()


async def test_health(client: httpx.AsyncClient) -> None:
    reply = await client.get("/healthz")
    assert reply.json()["status"] == "ok"
