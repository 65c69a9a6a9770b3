"""Supervisor actions over HTTP, against a running server and real desktops."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from api.ops.explain_text import format_explanation
from tests.live import ThreadServer, admin_headers, contact_body, count_rows, online_desktop

SUPERVISOR = "supervisor-token"


def SERVER_SETTINGS() -> dict[str, Any]:
    return {"supervisor_token": SUPERVISOR}


async def test_the_read_only_supervisor_token_reads_reports_but_takes_no_action(
    client: httpx.AsyncClient,
) -> None:
    read_only = {"Authorization": f"Bearer {SUPERVISOR}"}
    contact_id = (await client.post("/v1/contacts", json=contact_body("sv-0"))).json()["contact_id"]
    assert (await client.get("/v1/reports", headers=read_only)).status_code == 200
    for path, body in (
        (f"/v1/contacts/{contact_id}/priority", {"priority": 90, "reason": "x"}),
        (f"/v1/contacts/{contact_id}/pull", {"reason": "x"}),
        ("/v1/agents/x/presence", {"presence": "away"}),
        ("/v1/agents/x/message", {"text": "x"}),
    ):
        reply = await client.post(path, json=body, headers=read_only)
        assert reply.status_code == 403, path
    assert (await client.get("/v1/ops/actions", headers=read_only)).status_code == 403


async def test_reassign_pull_priority_and_message(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    anna = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    contact_id = (await client.post("/v1/contacts", json=contact_body("sv-1"))).json()["contact_id"]
    offer = await anna.next_event("offer")
    await anna.request("accept", offer_id=offer["offer_id"])
    marco = await online_desktop(server, client, "marco", skills={"billing": 3}, languages=["it"])
    body = {"agent": "marco", "reason": "cliente VIP, serve un senior"}
    assert (await client.post(f"/v1/contacts/{contact_id}/reassign", json=body)).status_code == 401
    moved = await client.post(
        f"/v1/contacts/{contact_id}/reassign", json=body, headers=admin_headers()
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "offered" and moved.json()["agent_id"] == "marco"
    told = await anna.next_event("reassigned")
    assert (told["contact_id"], told["to"], told["by"]) == (contact_id, "marco", "admin")
    assert (await marco.next_event("offer"))["contact"]["contact_id"] == contact_id

    pulled = await client.post(
        f"/v1/contacts/{contact_id}/pull",
        json={"reason": "back to the queue"},
        headers=admin_headers(),
    )
    assert pulled.status_code == 200, pulled.text
    assert (await marco.next_event("offer_ended"))["outcome"] == "revoked"
    raised = await client.post(
        f"/v1/contacts/{contact_id}/priority",
        json={"priority": 80, "reason": "reclamo formale"},
        headers=admin_headers(),
    )
    assert raised.status_code == 200, raised.text  # re-offered to anna: still waiting
    assert raised.json()["agent_id"] == "anna" and raised.json()["base_priority"] == 80
    explain = (
        await client.get(f"/v1/contacts/{contact_id}/explain", headers=admin_headers())
    ).json()
    kinds = [d["kind"] for d in explain["decisions"]]
    assert "supervisor_reassign" in kinds and "supervisor_pull" in kinds
    assert "supervisor_priority" in kinds
    reassigned = next(d for d in explain["decisions"] if d["kind"] == "supervisor_reassign")
    assert reassigned["reason"] == "cliente VIP, serve un senior" and reassigned["by"] == "admin"
    text = format_explanation(explain)
    assert "supervisor_reassign (cliente VIP, serve un senior)" in text
    assert "by admin: from anna to marco" in text and "by admin: from marco to the queue" in text
    assert "by admin: priority 10.0 -> 80.0" in text

    sent = await client.post(
        "/v1/agents/anna/message", json={"text": "ottimo lavoro"}, headers=admin_headers()
    )
    assert sent.status_code == 200 and sent.json()["delivered"] is True
    note = await anna.next_event("supervisor_message")
    assert (note["text"], note["from"]) == ("ottimo lavoro", "admin")

    log = (await client.get("/v1/ops/actions", headers=admin_headers())).json()
    actions = [entry["action"] for entry in log]
    assert (
        actions[:3] == ["message", *(["priority"] if raised.status_code == 200 else []), "pull"][:3]
    )
    assert "reassign" in actions
    await anna.close()
    await marco.close()


async def test_bad_supervisor_requests_get_clear_errors(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    contact_id = (await client.post("/v1/contacts", json=contact_body("sv-2"))).json()["contact_id"]
    headers = admin_headers()
    waiting = await client.post(
        f"/v1/contacts/{contact_id}/pull", json={"reason": "x"}, headers=headers
    )
    assert waiting.status_code == 409 and "already waiting" in waiting.json()["detail"]
    nobody = await client.post(
        f"/v1/contacts/{contact_id}/reassign",
        json={"agent": "ghost", "reason": "x"},
        headers=headers,
    )
    assert nobody.status_code == 404
    no_reason = await client.post(
        f"/v1/contacts/{contact_id}/priority", json={"priority": 50}, headers=headers
    )
    assert no_reason.status_code == 422
    unknown = await client.post("/v1/contacts/nope/pull", json={"reason": "x"}, headers=headers)
    assert unknown.status_code == 404
    raised = await client.post(
        f"/v1/contacts/{contact_id}/priority",
        json={"priority": 70, "reason": "VIP"},
        headers=headers,
    )
    assert raised.status_code == 200 and raised.json()["base_priority"] == 70
    missing = await client.post("/v1/agents/ghost/message", json={"text": "hi"}, headers=headers)
    assert missing.status_code == 404


async def test_a_changed_priority_and_closed_states_survive_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "restart.db"
    first = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            desk = await online_desktop(first, http, "ugo", skills={"tech": 5}, languages=["it"])
            await desk.request("presence", presence="away", code="training")
            contact_id = (await http.post("/v1/contacts", json=contact_body("rs-1"))).json()[
                "contact_id"
            ]
            raised = await http.post(
                f"/v1/contacts/{contact_id}/priority",
                json={"priority": 77, "reason": "VIP"},
                headers=admin_headers(),
            )
            assert raised.status_code == 200
            await desk.close()
    finally:
        first.stop()
    second = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=second.url) as http:
            waiting = (
                await http.get("/v1/queues/billing/contacts", headers=admin_headers())
            ).json()
            assert [c["contact_id"] for c in waiting] == [contact_id]
            assert waiting[0]["priority"]["rule"] == 77
    finally:
        second.stop()
    # the desktop never came back: its training time ends where the second router started
    assert count_rows(database, "agent_states", "agent_id='ugo' and presence='offline'") == 1
