"""After a restart (graceful or kill -9) every unfinished contact is back with its arrival."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.engine_helpers import CONFIG
from tests.live import (
    Desktop,
    ProcessServer,
    ThreadServer,
    admin_headers,
    contact_body,
    create_agent,
)


async def test_graceful_restart_restores_queue_and_assignments(tmp_path: Path) -> None:
    database = tmp_path / "restart.db"
    first = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=first.url) as http:
            token = await create_agent(
                http, "eva", skills={"billing": 5}, languages=["it"], capacity={"chat": 1}
            )
            desk = Desktop(first.ws_url, token)
            await desk.connect()
            handled = (await http.post("/v1/contacts", json=contact_body("r-handled"))).json()
            offer = await desk.next_event("offer")
            await desk.request("accept", offer_id=offer["offer_id"])
            waiting = [
                (await http.post("/v1/contacts", json=contact_body(f"r-{i}"))).json()
                for i in range(3)
            ]
            before = {
                c["contact_id"]: (
                    await http.get(f"/v1/contacts/{c['contact_id']}", headers=admin_headers())
                ).json()["arrival"]
                for c in [handled, *waiting]
            }
            await desk.close()
    finally:
        first.stop()

    second = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=second.url) as http:
            queued = (await http.get("/v1/queues/billing/contacts", headers=admin_headers())).json()
            assert sorted(c["contact_id"] for c in queued) == sorted(
                c["contact_id"] for c in waiting
            )
            for contact_id, arrival in before.items():
                now = (await http.get(f"/v1/contacts/{contact_id}", headers=admin_headers())).json()
                assert now["arrival"] == arrival
            kept = (
                await http.get(f"/v1/contacts/{handled['contact_id']}", headers=admin_headers())
            ).json()
            assert kept["state"] == "assigned" and kept["agent_id"] == "eva"
            desk = Desktop(second.ws_url, token)
            welcome = await desk.connect()
            held = [c["contact"]["contact_id"] for c in welcome["state"]["contacts"]]
            assert held == [handled["contact_id"]]  # the agent's work survived the restart
            await desk.request(
                "wrap_up", contact_id=handled["contact_id"], outcome="ok", resolved=True
            )
            offer = await desk.next_event("offer")  # oldest waiting contact first
            assert offer["contact"]["contact_id"] == waiting[0]["contact_id"]
            await desk.close()
    finally:
        second.stop()


async def test_kill_9_loses_no_accepted_contact(tmp_path: Path) -> None:
    database = tmp_path / "crash.db"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    accepted: list[str] = []
    server = ProcessServer(database, config_path).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            for i in range(25):
                reply = await http.post("/v1/contacts", json=contact_body(f"k-{i}"))
                assert reply.status_code == 202
                accepted.append(reply.json()["contact_id"])
    finally:
        server.kill()
    with sqlite3.connect(database) as db:
        stored = {row[0] for row in db.execute("select id from contacts")}
    assert set(accepted) <= stored

    restarted = ProcessServer(database, config_path).start()
    try:
        async with httpx.AsyncClient(base_url=restarted.url) as http:
            queued = (
                await http.get("/v1/queues/billing/contacts?limit=1000", headers=admin_headers())
            ).json()
            assert sorted(c["contact_id"] for c in queued) == sorted(accepted)
            # a gateway retrying after the crash gets the same contact, not a new one
            retry = await http.post("/v1/contacts", json=contact_body("k-3"))
            assert retry.json() == {
                "contact_id": accepted[3],
                "duplicate": True,
                "state": "queued",
                "queue": "billing",
                "notice": None,
                "after_hours": None,
                "estimated_wait": None,  # no agent logged in
            }
    finally:
        restarted.kill()


async def test_a_stored_contact_no_router_routed_is_routed_on_the_gateway_retry(
    tmp_path: Path,
) -> None:
    """A router that stored a contact and died (or lost its lease) before routing it: the
    gateway got no 202 and retries; the retry must route the stored contact."""
    database = tmp_path / "orphan.db"
    server = ThreadServer(database).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            first = (await http.post("/v1/contacts", json=contact_body("seen"))).json()
            with sqlite3.connect(database) as db:  # what the dead router left behind
                columns = [row[1] for row in db.execute("pragma table_info(contacts)")]
                copied = ", ".join(
                    {"id": "'orphan-id'", "external_id": "'orphan'"}.get(c, c) for c in columns
                )
                db.execute(
                    f"insert into contacts ({', '.join(columns)}) select {copied} "
                    "from contacts where id = ?",
                    (first["contact_id"],),
                )
            retry = await http.post("/v1/contacts", json=contact_body("orphan"))
            assert retry.status_code == 202
            assert retry.json() | {"state": "?"} == {
                "contact_id": "orphan-id",
                "duplicate": True,
                "state": "?",
                "queue": "billing",
                "notice": None,
                "after_hours": None,
                "estimated_wait": None,  # no agent logged in
            }
            queued = (await http.get("/v1/queues/billing/contacts", headers=admin_headers())).json()
            assert {c["contact_id"] for c in queued} == {first["contact_id"], "orphan-id"}
    finally:
        server.stop()


async def test_a_retry_right_after_the_contact_finished_does_not_bring_it_back(
    tmp_path: Path,
) -> None:
    server = ThreadServer(tmp_path / "finished.db").start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            token = await create_agent(
                http, "eva", skills={"billing": 5}, languages=["it"], capacity={"chat": 1}
            )
            desk = Desktop(server.ws_url, token)
            await desk.connect()
            contact = (await http.post("/v1/contacts", json=contact_body("done"))).json()
            offer = await desk.next_event("offer")
            await desk.request("accept", offer_id=offer["offer_id"])
            await desk.request("end", contact_id=contact["contact_id"])
            done = await desk.request(
                "wrap_up", contact_id=contact["contact_id"], outcome="ok", resolved=True
            )
            assert done["type"] == "ack", done
            # the gateway's late retry lands while the write-behind may still be writing
            retry = await http.post("/v1/contacts", json=contact_body("done"))
            assert retry.json()["duplicate"] is True
            stored = await http.get(
                f"/v1/contacts/{contact['contact_id']}", headers=admin_headers()
            )
            assert stored.json()["state"] == "completed"
            agent = (await http.get("/v1/agents/eva", headers=admin_headers())).json()
            assert agent["load"] == {} or not any(agent["load"].values()), agent
            await desk.close()
    finally:
        server.stop()


async def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    """SQLite has one writer: a second server on the same file stops at start-up with a
    message that says why and what to do, and the first keeps serving."""
    database = tmp_path / "one.db"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    first = ProcessServer(database, config_path).start()
    try:
        second = ProcessServer(database, config_path)
        try:
            second.start()
        except RuntimeError as exc:
            refused = str(exc)
        else:
            second.kill()
            raise AssertionError("a second process started on the same SQLite file")
        assert "in use by another centralino process" in refused
        assert "PostgreSQL" in refused
        async with httpx.AsyncClient(base_url=first.url) as http:
            assert (await http.post("/v1/contacts", json=contact_body("still"))).status_code == 202
    finally:
        first.kill()
    # once it is gone (even killed), the file can be served again
    again = ProcessServer(database, config_path).start()
    again.stop()
