"""kill -9 under load: nothing acknowledged is lost, nothing is accepted twice.

A real server process takes contacts from a gateway while agent desktops accept every
offer, end it and wrap it up. The server is killed (SIGKILL) in the middle of it. Every
202 must be a stored contact, every acknowledged accept an accepted offer in the record,
every acknowledged wrap-up a completed contact; and after a restart every unfinished
contact is routed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.engine_helpers import CONFIG
from tests.live import ProcessServer, admin_headers, contact_body, create_agent


class Acks:
    def __init__(self, kill_after: int, kill: Any) -> None:
        self.kill_after = kill_after  # kill -9 the moment this many accepts were acked
        self.kill = kill
        self.contacts: set[str] = set()  # 202'd
        self.accepts: dict[str, tuple[str, str]] = {}  # offer id -> (agent, contact)
        self.wrap_ups: dict[str, str] = {}  # contact id -> agent


async def auto_desk(url: str, agent_id: str, token: str, acks: Acks) -> None:
    """Accept, end and wrap up everything offered; note each ack as it arrives."""
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "login", "token": token}))
            async for raw in ws:
                event = json.loads(raw)
                kind, ref = event.get("type"), str(event.get("ref") or "")
                if kind == "offer":
                    contact_id = event["contact"]["contact_id"]
                    ref = f"accept|{event['offer_id']}|{contact_id}"
                    await ws.send(
                        json.dumps({"type": "accept", "offer_id": event["offer_id"], "ref": ref})
                    )
                elif kind == "ack" and ref.startswith("accept|"):
                    _, offer_id, contact_id = ref.split("|")
                    acks.accepts[offer_id] = (agent_id, contact_id)
                    if len(acks.accepts) == acks.kill_after:
                        acks.kill()  # at once: an ack sent before its commit would be lost
                        return
                    await ws.send(
                        json.dumps(
                            {"type": "end", "contact_id": contact_id, "ref": f"end|{contact_id}"}
                        )
                    )
                elif kind == "ack" and ref.startswith("end|"):
                    contact_id = ref.split("|")[1]
                    message = {
                        "type": "wrap_up",
                        "contact_id": contact_id,
                        "outcome": "ok",
                        "resolved": True,
                        "ref": f"wrap|{contact_id}",
                    }
                    await ws.send(json.dumps(message))
                elif kind == "ack" and ref.startswith("wrap|"):
                    acks.wrap_ups[ref.split("|")[1]] = agent_id


async def gateway(url: str, acks: Acks, stop: asyncio.Event) -> None:
    n = 0
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while not stop.is_set():
            n += 1
            try:
                reply = await http.post("/v1/contacts", json=contact_body(f"crash-{n}"))
            except httpx.HTTPError:
                return  # the server is gone
            if reply.status_code == 202:
                acks.contacts.add(reply.json()["contact_id"])


async def load_until_killed(
    server: ProcessServer, acks: Acks, *, gateways: int, timeout: float
) -> None:
    """Three agents accepting, ending and wrapping up everything, and ``gateways`` gateways
    posting contacts, until a desktop kills the server (``acks.kill``); then all stop."""
    assert server.proc is not None
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            for i in range(3):
                token = await create_agent(
                    http, f"k{i}", skills={"billing": 5}, languages=["it"], capacity={"chat": 3}
                )
                tasks.append(asyncio.create_task(auto_desk(server.ws_url, f"k{i}", token, acks)))
        tasks += [asyncio.create_task(gateway(server.url, acks, stop)) for _ in range(gateways)]
        deadline = asyncio.get_running_loop().time() + timeout
        while server.proc.poll() is None:  # killed by a desktop, mid-flow
            assert asyncio.get_running_loop().time() < deadline, "the desktops made no progress"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server.proc.poll() is None:
            server.kill()
        server.proc.wait(timeout=10)


def rows(database: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as db:
        return list(db.execute(sql).fetchall())


async def test_kill_9_under_load_loses_no_acknowledged_contact_accept_or_wrap_up(
    tmp_path: Path,
) -> None:
    database = tmp_path / "crash.db"
    config_path = tmp_path / "config.yaml"
    config_path.write_text(CONFIG)
    server = ProcessServer(database, config_path).start()
    assert server.proc is not None
    acks = Acks(kill_after=40, kill=server.proc.kill)
    await load_until_killed(server, acks, gateways=4, timeout=60)
    assert len(acks.wrap_ups) >= 5  # wrap-ups were acknowledged before the kill too

    stored = {row[0]: row[1:] for row in rows(database, "select id, state, agent_id from contacts")}
    assert acks.contacts <= set(stored)  # every 202 is a stored contact
    accepted = {
        offer_id: (agent, contact)
        for offer_id, agent, contact in rows(
            database, "select id, agent_id, contact_id from offers where outcome = 'accepted'"
        )
    }
    lost = {o: a for o, a in acks.accepts.items() if accepted.get(o) != a}
    assert lost == {}, f"acknowledged accepts missing from the record: {lost}"
    not_completed = {
        contact: agent
        for contact, agent in acks.wrap_ups.items()
        if stored[contact] != ("completed", agent)
    }
    assert not_completed == {}, f"acknowledged wrap-ups not in the record: {not_completed}"
    doubled = rows(
        database,
        "select contact_id from offers where outcome = 'accepted' "
        "group by contact_id having count(*) > 1",
    )
    assert doubled == []

    restarted = ProcessServer(database, config_path).start()
    try:
        async with httpx.AsyncClient(base_url=restarted.url) as http:
            queued = (
                await http.get("/v1/queues/billing/contacts?limit=1000", headers=admin_headers())
            ).json()
            # waiting, and stored but not yet planned when it died ("received"): all routed
            waiting = {
                cid
                for cid, (state, _agent) in stored.items()
                if state in ("received", "queued", "offered")
            }
            assert {c["contact_id"] for c in queued} == waiting
    finally:
        restarted.kill()
