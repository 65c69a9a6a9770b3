"""After the contact: feedback per agent and queue, follow-ups back to the same agent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.live import ThreadServer, admin_headers, contact_body, count_rows, online_desktop


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"followup_interval": 0.05}


async def handle(
    desk: Any, client: httpx.AsyncClient, message_id: str, **wrap: Any
) -> tuple[str, dict[str, Any]]:
    contact_id = (await client.post("/v1/contacts", json=contact_body(message_id))).json()[
        "contact_id"
    ]
    offer = await desk.next_event("offer")
    assert offer["contact"]["contact_id"] == contact_id
    await desk.request("accept", offer_id=offer["offer_id"])
    reply = await desk.request(
        "wrap_up", contact_id=contact_id, outcome="ok", resolved=True, **wrap
    )
    return contact_id, reply


async def test_feedback_is_summarized_per_agent_and_queue(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    anna = await online_desktop(
        server, client, "anna", skills={"billing": 5}, languages=["it"], capacity={"chat": 1}
    )
    scores = [(5, 10), (4, 9), (2, 3)]
    for i, (csat, nps) in enumerate(scores):
        contact_id, _ = await handle(anna, client, f"fb{i}")
        reply = await client.post(
            f"/v1/contacts/{contact_id}/feedback",
            json={"csat": csat, "nps": nps, "comment": "grazie"},
        )
        assert reply.json()["agent_id"] == "anna"
    summary = (await client.get("/v1/feedback", headers=admin_headers())).json()
    expected = {
        "responses": 3,
        "csat_average": 3.67,
        "csat_satisfied": 0.667,
        "nps": round(100 * (2 - 1) / 3, 1),
    }
    assert summary["agents"]["anna"] == expected
    assert summary["queues"]["billing"] == expected
    bad = await client.post(f"/v1/contacts/{contact_id}/feedback", json={"csat": 6})
    assert bad.status_code == 422
    empty = await client.post(f"/v1/contacts/{contact_id}/feedback", json={})
    assert empty.status_code == 422 and "csat" in empty.text
    unknown = await client.post("/v1/contacts/nope/feedback", json={"nps": 5})
    assert unknown.status_code == 404
    await anna.close()


async def test_follow_up_comes_back_to_the_same_agent(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    marta = await online_desktop(server, client, "marta", skills={"billing": 5}, languages=["it"])
    contact_id, reply = await handle(
        marta, client, "fu1", follow_up_in=0.3, follow_up_note="Richiamare per conferma rimborso"
    )
    assert reply["type"] == "ack" and reply["follow_up"]
    other = await online_desktop(
        server, client, "other", skills={"billing": 5}, languages=["it"]
    )  # idle longer than marta by the time
    await asyncio.sleep(0.05)
    offer = await marta.next_event("offer", timeout=5)
    assert offer["contact"]["text"] == "Richiamare per conferma rimborso"
    assert offer["contact"]["attributes"] == {"follow_up_of": contact_id}
    assert offer["explanation"]["preferred"] == {"agent": "marta", "result": "offered"}
    assert other.events == []
    await asyncio.sleep(0.5)  # ten more scheduler rounds: the follow-up is done, once
    assert count_rows(tmp_path / "centralino.db", "contacts", "gateway = 'followup'") == 1
    await marta.close()
    await other.close()
