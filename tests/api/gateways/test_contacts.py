"""POST /v1/contacts against a running server and a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from tests.live import ThreadServer, admin_headers, contact_body, online_desktop


async def test_accepted_contact_is_stored_before_202(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reply = await client.post("/v1/contacts", json=contact_body("m-1"))
    assert reply.status_code == 202, reply.text
    body = reply.json()
    assert body["duplicate"] is False and body["queue"] == "billing"
    query = "select channel, customer_id, queue, rule, arrival, state from contacts where id = ?"
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        row = db.execute(query, (body["contact_id"],)).fetchone()
        identity = db.execute(
            "select kind, value from identities where customer_id = ?", (row[1],)
        ).fetchall()
    # stored with its customer in one commit before the 202; its plan is written like a
    # routing decision (state "received" until then: planned again after a crash)
    assert row[0] == "chat" and row[4] > 0 and row[5] in ("received", "queued", "offered")
    assert identity == [("email", "mario.rossi@example.it")]
    shown = await client.get(f"/v1/contacts/{body['contact_id']}", headers=admin_headers())
    assert shown.status_code == 200  # a read of the record waits for what was decided
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        row = db.execute(query, (body["contact_id"],)).fetchone()
    assert (row[2], row[3]) == ("billing", "billing")


async def test_retry_with_same_message_id_is_idempotent(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await client.post("/v1/contacts", json=contact_body("m-dup"))
    again = await client.post("/v1/contacts", json=contact_body("m-dup"))
    assert again.status_code == 202
    assert again.json()["contact_id"] == first.json()["contact_id"]
    assert again.json()["duplicate"] is True
    # the same id from another gateway is another contact
    other = await client.post("/v1/contacts", json=contact_body("m-dup", gateway="other-gw"))
    assert other.json()["contact_id"] != first.json()["contact_id"]
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        assert db.execute("select count(*) from contacts").fetchone()[0] == 2


async def test_concurrent_retries_create_one_contact(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    replies = await asyncio.gather(
        *(client.post("/v1/contacts", json=contact_body("m-race")) for _ in range(8))
    )
    assert {r.status_code for r in replies} == {202}
    assert len({r.json()["contact_id"] for r in replies}) == 1
    assert sum(not r.json()["duplicate"] for r in replies) == 1
    queues = await client.get("/v1/queues", headers=admin_headers())
    billing = next(q for q in queues.json() if q["queue"] == "billing")
    assert billing["waiting_total"] == 1


async def test_bad_input_is_422_with_a_clear_message_and_nothing_stored(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    cases = [
        (contact_body("b1", channel="fax"), "channel"),
        (contact_body("b2", customer={"email": "not-an-email"}), "email"),
        (contact_body("b3", urgency=3), "urgency"),
        (contact_body("b4", attributes={"bad key!": 1}), "attribute name"),
        ({"gateway": "gw", "channel": "chat"}, "message_id"),
        (contact_body("b5", unexpected="x"), "unexpected"),
    ]
    for body, needle in cases:
        reply = await client.post("/v1/contacts", json=body)
        assert reply.status_code == 422, (needle, reply.text)
        assert needle in reply.text
    reply = await client.post(
        "/v1/contacts", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert reply.status_code == 422
    with sqlite3.connect(tmp_path / "centralino.db") as db:
        assert db.execute("select count(*) from contacts").fetchone()[0] == 0


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    reply = await client.post("/v1/contacts", json=contact_body("big", text="x" * 300_000))
    assert reply.status_code == 413


async def test_gateway_token_is_required_when_configured(tmp_path: Path) -> None:
    guarded = ThreadServer(tmp_path / "g.db", gateway_token="gw-secret").start()
    try:
        async with httpx.AsyncClient(base_url=guarded.url) as http:
            assert (await http.post("/v1/contacts", json=contact_body("t1"))).status_code == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (
                await http.post("/v1/contacts", json=contact_body("t1"), headers=wrong)
            ).status_code == 403
            right = {"Authorization": "Bearer gw-secret"}
            assert (
                await http.post("/v1/contacts", json=contact_body("t1"), headers=right)
            ).status_code == 202
    finally:
        guarded.stop()


async def test_rules_pick_queue_from_text(client: httpx.AsyncClient) -> None:
    reply = await client.post(
        "/v1/contacts",
        json=contact_body("card", intent="lost_card", text="Mi hanno rubato la carta"),
    )
    assert reply.json()["queue"] == "cards"
    unknown = await client.post("/v1/contacts", json=contact_body("gen", intent="weather"))
    assert unknown.json()["queue"] == "general"


async def test_customer_leaving_before_answer_is_an_abandon(client: httpx.AsyncClient) -> None:
    contact_id = (await client.post("/v1/contacts", json=contact_body("ab1"))).json()["contact_id"]
    reply = await client.post(f"/v1/contacts/{contact_id}/end")
    assert reply.json() == {"contact_id": contact_id, "outcome": "abandoned"}
    stored = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    assert stored.json()["state"] == "abandoned"
    queues = (await client.get("/v1/queues", headers=admin_headers())).json()
    assert next(q for q in queues if q["queue"] == "billing")["waiting_total"] == 0
    again = await client.post(f"/v1/contacts/{contact_id}/end")
    assert again.json()["outcome"] == "already abandoned"
    assert (await client.post("/v1/contacts/nope/end")).status_code == 404


async def test_customer_leaving_after_answer_starts_wrap_up(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    desk = await online_desktop(server, client, "w1", skills={"billing": 5}, languages=["it"])
    contact_id = (await client.post("/v1/contacts", json=contact_body("ab2"))).json()["contact_id"]
    offer = await desk.next_event("offer")
    await desk.request("accept", offer_id=offer["offer_id"])
    reply = await client.post(f"/v1/contacts/{contact_id}/end")
    assert reply.json()["outcome"] == "wrap_up"
    assert (await desk.next_event("wrap_up"))["ended_by"] == "customer"
    await desk.close()


async def test_oversized_chunked_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"gateway": "gw", "message_id": "chunky", "channel": "chat", "text": "'
        for _ in range(40):
            yield b"x" * 10_000
        yield b'"}'

    reply = await client.post(
        "/v1/contacts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert reply.status_code == 413
    assert "larger than" in reply.json()["detail"]
