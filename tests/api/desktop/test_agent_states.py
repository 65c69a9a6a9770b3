"""Away reasons over the desktop protocol: durable acks, time in state, forced states."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live import ThreadServer, admin_headers, count_rows, online_desktop


async def test_away_with_a_code_is_acked_after_its_commit_and_shown_to_supervisors(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    desk = await online_desktop(server, client, "anna", skills={"billing": 5}, languages=["it"])
    await desk.next_event("presence")
    ack = await desk.request("presence", presence="away", code="lunch", reason="pranzo")
    assert ack["type"] == "ack", ack
    # the ack promises the state change is durable: the row is there already
    database = tmp_path / "centralino.db"
    assert count_rows(database, "agent_states", "agent_id='anna' and code='lunch'") == 1
    event = await desk.next_event("presence")
    assert (event["presence"], event["code"], event["reason"]) == ("away", "lunch", "pranzo")
    assert event["since"] > 0 and event["forced_by"] == ""
    view = (await client.get("/v1/agents/anna", headers=admin_headers())).json()
    assert view["code"] == "lunch" and view["limit_seconds"] == 3600.0
    assert view["over_limit"] is False and view["seconds_in_state"] >= 0

    bad = await desk.request("presence", presence="away", code="nap")
    assert bad["type"] == "error" and bad["code"] == "not_allowed"
    assert "unknown reason code 'nap'" in bad["message"]
    await desk.close()


async def test_a_supervisor_forces_a_state_and_the_desktop_is_told_who(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    desk = await online_desktop(server, client, "bea", skills={"billing": 5}, languages=["it"])
    await desk.next_event("presence")
    body = {"presence": "away", "code": "meeting", "reason": "riunione di team"}
    assert (await client.post("/v1/agents/bea/presence", json=body)).status_code == 401
    reply = await client.post("/v1/agents/bea/presence", json=body, headers=admin_headers())
    assert reply.status_code == 200, reply.text
    assert reply.json()["presence"] == "away" and reply.json()["forced_by"] == "admin"
    event = await desk.next_event("presence")
    assert (event["code"], event["forced_by"]) == ("meeting", "admin")
    log = (await client.get("/v1/ops/actions", headers=admin_headers())).json()
    assert log[0]["action"] == "force_state" and log[0]["agent_id"] == "bea"
    assert log[0]["reason"] == "riunione di team"
    refused = await client.post(
        "/v1/agents/bea/presence", json={"presence": "away", "code": "nap"}, headers=admin_headers()
    )
    assert refused.status_code == 409 and "nap" in refused.json()["detail"]
    missing = await client.post(
        "/v1/agents/nobody/presence", json={"presence": "away"}, headers=admin_headers()
    )
    assert missing.status_code == 404
    await desk.close()
