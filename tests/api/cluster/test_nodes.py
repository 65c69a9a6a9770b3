"""Several nodes on one Redis, as real processes on loopback: contacts taken on one node
reach agents on another, a killed router is replaced without losing or doubling anything,
and desktops move between nodes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import smtplib
import sqlite3
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis

from router.cluster.keys import Keys
from tests.engine_helpers import CONFIG
from tests.live import (
    ADMIN,
    Desktop,
    ProcessServer,
    admin_headers,
    contact_body,
    create_agent,
    free_port,
)
from tests.redis_server import RedisServer


class Cluster:
    def __init__(self, tmp_path: Path, redis: RedisServer, **settings: str) -> None:
        self.database = tmp_path / "cluster.db"
        self.config = tmp_path / "config.yaml"
        self.config.write_text(CONFIG)
        self.tmp_path = tmp_path
        self.redis_url = redis.url
        self.env = {
            "CENTRALINO_REDIS_URL": redis.url,
            # generous: a starved process on a busy machine must not lose its lease or
            # time out mid-test; the tests wait for failovers on conditions, not on time
            "CENTRALINO_LEASE_TTL": "6",
            "CENTRALINO_COMMAND_TIMEOUT": "10",
            **settings,
        }
        self.nodes: list[ProcessServer] = []

    def node(self, name: str, **env: str) -> ProcessServer:
        node = ProcessServer(
            self.database,
            self.config,
            env={**self.env, "CENTRALINO_NODE_NAME": name, **env},
            log_path=self.tmp_path / f"{name}.log",
        ).start()
        self.nodes.append(node)
        return node

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.database) as db:
            return list(db.execute(sql, args).fetchall())


def role(node: ProcessServer) -> str:
    """The node's role; "down" only if it does not answer at all (a busy machine may take
    seconds to answer: that is not a role)."""
    try:
        return str(httpx.get(node.url + "/healthz", timeout=15).json()["role"])
    except httpx.HTTPError:
        return "down"


async def until(check: Any, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.fixture
def cluster(tmp_path: Path, redis_server: RedisServer) -> Any:
    running = Cluster(tmp_path, redis_server)
    try:
        yield running
    finally:
        running.stop()


async def active_and_standby(cluster: Cluster) -> tuple[ProcessServer, ProcessServer]:
    first = cluster.node("node-a")
    await until(lambda: role(first) == "active", what="node-a to take the lease")
    second = cluster.node("node-b")
    assert role(second) == "standby"
    return first, second


AGENT = {"skills": {"billing": 5}, "languages": ["it"]}


async def test_contacts_taken_on_one_node_reach_agents_on_the_other(cluster: Cluster) -> None:
    a, b = await active_and_standby(cluster)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=10) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as on_b,
    ):
        desks = []
        for i in range(3):
            token = await create_agent(on_b, f"agent-{i}", **AGENT, capacity={"chat": 2})
            desk = Desktop(b.ws_url if i else a.ws_url, token)  # two on b, one on a
            welcome = await desk.connect()
            assert welcome["type"] == "welcome"
            desks.append(desk)
        ids = []
        for n in range(6):
            node = on_a if n % 2 == 0 else on_b
            reply = await node.post("/v1/contacts", json=contact_body(f"m-{n}"))
            assert reply.status_code == 202, reply.text
            ids.append(reply.json()["contact_id"])
        assigned: dict[str, str] = {}
        for desk in desks:
            for _ in range(2):
                offer = await desk.next_event("offer", timeout=10)
                ack = await desk.request("accept", offer_id=offer["offer_id"])
                assert ack["type"] == "ack", ack
                assigned[offer["contact"]["contact_id"]] = desk.token
        assert sorted(assigned) == sorted(ids)  # each contact to exactly one desktop
        seen = (await on_b.get(f"/v1/contacts/{ids[0]}", headers=admin_headers())).json()
        assert seen["state"] == "assigned"
        for desk in desks:
            await desk.close()
    accepted = cluster.rows(
        "select contact_id, count(*) from offers where outcome='accepted' group by contact_id"
    )
    assert sorted(row[0] for row in accepted) == sorted(ids)
    assert all(row[1] == 1 for row in accepted)


async def test_a_desktop_resumes_its_offer_on_another_node(cluster: Cluster) -> None:
    a, b = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=a.url, timeout=10) as http:
        token = await create_agent(http, "eva", **AGENT, capacity={"chat": 1})
        desk = Desktop(a.ws_url, token)
        welcome = await desk.connect()
        seen_before = welcome["seq"]
        contact = (await http.post("/v1/contacts", json=contact_body("resume-1"))).json()
        offer = await desk.next_event("offer")
        await desk.close()  # the connection drops before the agent answers
        moved = Desktop(b.ws_url, token)
        again = await moved.connect(resume={"stream": welcome["stream"], "after_seq": seen_before})
        assert again["resumed"] is True
        replayed = await moved.next_event("offer")
        assert replayed["offer_id"] == offer["offer_id"]
        assert [o["offer_id"] for o in again["state"]["offers"]] == [offer["offer_id"]]
        ack = await moved.request("accept", offer_id=offer["offer_id"])
        assert ack["type"] == "ack", ack
        assigned = await moved.next_event("assigned")
        assert assigned["contact_id"] == contact["contact_id"]
        # a second login elsewhere replaces the first, across nodes
        third = Desktop(a.ws_url, token)
        await third.connect()
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(20):
                await moved.recv(timeout=5)
        assert moved.ws.close_code == 4001  # "logged in elsewhere"
        await third.close()


async def test_a_standby_node_serves_every_entry_point_like_the_router(
    cluster: Cluster,
) -> None:
    first = cluster.node("node-a")
    await until(lambda: role(first) == "active", what="node-a to take the lease")
    smtp_port = free_port()
    standby = cluster.node("node-b", CENTRALINO_SMTP_PORT=str(smtp_port))
    async with httpx.AsyncClient(base_url=standby.url, timeout=10) as http:
        # hostile input: the same clear 4xx as on one process, nothing stored
        broken = await http.post(
            "/v1/contacts", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422
        huge = await http.post("/v1/contacts", content=b"x" * 300_000)
        assert huge.status_code == 413
        assert (await http.put("/v1/agents/x", json={})).status_code == 401
        wrong_type = await http.post("/v1/contacts", json=contact_body("h", channel=42))
        assert wrong_type.status_code == 422
        assert cluster.rows("select count(*) from contacts") == [(0,)]
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200 and "centralino_" in metrics.text
        # SMTP on the standby: 250 only once the router stored the message
        message = EmailMessage()
        message["From"] = "Mario Rossi <mario.rossi@example.it>"
        message["To"] = "assistenza@acme.it"
        message["Subject"] = "La bolletta di ottobre è sbagliata"
        message["Message-ID"] = "<cluster-1@example.it>"
        message.set_content("Buongiorno, la bolletta di ottobre è sbagliata.")

        def deliver() -> None:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
                smtp.send_message(message)

        await asyncio.to_thread(deliver)
        assert cluster.rows("select channel from contacts") == [("email",)]
        # the wallboard, fed by the router through the standby
        async with websockets.connect(standby.url.replace("http", "ws") + "/v1/wallboard") as board:
            await board.send(json.dumps({"token": ADMIN}))
            snapshot = json.loads(await asyncio.wait_for(board.recv(), 10))
            assert [w["channel"] for w in snapshot["waiting"]] == ["email"]


async def post_until_accepted(
    nodes: list[ProcessServer], message_id: str, log: list[tuple[str, int]]
) -> dict[str, Any]:
    """A gateway: retry the same message id (on any node) until it gets a 202."""
    deadline = time.monotonic() + 40
    attempt = 0
    while time.monotonic() < deadline:
        node = nodes[attempt % len(nodes)]
        attempt += 1
        try:
            async with httpx.AsyncClient(base_url=node.url, timeout=5) as http:
                reply = await http.post("/v1/contacts", json=contact_body(message_id))
            log.append((message_id, reply.status_code))
            if reply.status_code == 202:
                body: dict[str, Any] = reply.json()
                return body
        except httpx.HTTPError:
            log.append((message_id, 0))
        await asyncio.sleep(0.1)
    raise AssertionError(f"{message_id} never accepted")


async def auto_accept(
    desk: Desktop, accepted: dict[str, set[str]], name: str, seen: list[str]
) -> None:
    """An agent who accepts every offer; what it was told it holds, in ``accepted``, and
    what it heard, in ``seen``.

    Like a real desktop it reads the fresh welcome a new router sends (an accept the dead
    router committed but had no time to announce is there among the contacts held, an
    offer still open among the offers), and logs in again if its connection is closed
    (a node closes it with 1013, "try again later", when the router does not answer)."""
    while True:
        try:
            message = await desk.recv(timeout=600)
        except websockets.ConnectionClosed as closed:
            seen.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
            await asyncio.sleep(0.2)  # a pause before logging in again, not a wait
            with contextlib.suppress(OSError, websockets.WebSocketException):
                message = await desk.connect()
            if desk.ws.state is not websockets.State.OPEN:
                continue
        seen.append(message["type"])
        offers: list[str] = []
        if message["type"] == "offer":
            offers.append(message["offer_id"])
        elif message["type"] == "assigned":
            accepted.setdefault(message["contact_id"], set()).add(name)
        elif message["type"] == "welcome":
            for held in message["state"]["contacts"]:
                accepted.setdefault(held["contact"]["contact_id"], set()).add(name)
            offers.extend(offer["offer_id"] for offer in message["state"]["offers"])
        for offer_id in offers:
            accept = {"type": "accept", "offer_id": offer_id, "ref": "x"}
            await desk.ws.send(json.dumps(accept))


async def test_killing_the_active_router_mid_load_loses_nothing_and_doubles_nothing(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    # the lease outlives the kill; the call during the failover waits out the command timeout
    cluster = Cluster(
        tmp_path, redis_server, CENTRALINO_LEASE_TTL="10", CENTRALINO_COMMAND_TIMEOUT="5"
    )
    try:
        await kill_mid_load(cluster)
    finally:
        cluster.stop()


async def kill_mid_load(cluster: Cluster) -> None:
    a, b = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
        tokens = [
            await create_agent(http, f"agent-{i}", **AGENT, capacity={"chat": 3}) for i in range(2)
        ]
    desks = [Desktop(b.ws_url, token) for token in tokens]
    for desk in desks:
        await desk.connect()
    told: dict[str, set[str]] = {}
    heard: dict[int, list[str]] = {}
    agents = [
        asyncio.create_task(auto_accept(desk, told, f"agent-{i}", heard.setdefault(i, [])))
        for i, desk in enumerate(desks)
    ]
    try:
        await load_and_kill(cluster, a, b, told, heard)
    finally:
        # one cancel ends them: a desktop's receive (tests/live.py) no longer loses it
        for task in agents:
            task.cancel()
        await asyncio.gather(*agents, return_exceptions=True)
        for desk in desks:
            with contextlib.suppress(Exception):
                await desk.close()


async def load_and_kill(
    cluster: Cluster,
    a: ProcessServer,
    b: ProcessServer,
    told: dict[str, set[str]],
    heard: dict[int, list[str]],
) -> None:
    log: list[tuple[str, int]] = []
    results: dict[str, dict[str, Any]] = {}

    async def gateway(n: int) -> None:
        await asyncio.sleep(n * 0.05)
        message_id = f"load-{n}"
        results[message_id] = await post_until_accepted([a, b], message_id, log)

    load = [asyncio.create_task(gateway(n)) for n in range(40)]
    await until(lambda: len(results) >= 5, what="load under way")  # mid-load
    a.kill()
    # Its lease outlives it by seconds; before it lapses, the test puts there a lease of a
    # router that is gone and never expires. No standby can take over while it is there,
    # so the next call surely meets no router: no timing window.
    lease = Keys("default").lease
    async with Redis.from_url(cluster.redis_url) as redis:
        await redis.set(lease, "0:gone")
        # one gateway call while no router is active: it times out with 503 ...
        async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
            during = await http.post("/v1/contacts", json=contact_body("during-failover"))
        assert during.status_code == 503 and during.headers["retry-after"] == "1"
        await redis.delete(lease)  # the dead router's lease lapses
    await asyncio.gather(*load)
    await until(lambda: role(b) == "active", what="node-b to take over")
    # ... yet the event stayed in the stream and the new router applied it; the retry
    # finds that contact instead of creating a second one
    await until(
        lambda: (
            cluster.rows("select count(*) from contacts where external_id='during-failover'")
            == [(1,)]
        ),
        what="the pending command to be applied",
    )
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
        retry = await http.post("/v1/contacts", json=contact_body("during-failover"))
    assert retry.status_code == 202 and retry.json()["duplicate"] is True

    try:
        await until(lambda: len(told) >= 6, timeout=90, what="6 assignments")
    except AssertionError as failed:
        raise AssertionError(f"{failed}; the desktops were told {told}, heard {heard}") from None

    # nothing lost: every accepted contact is stored once, assigned or still waiting
    rows = cluster.rows("select external_id, id, state from contacts")
    by_message = {external_id: (cid, state) for external_id, cid, state in rows}
    assert len(rows) == len(by_message) == 41
    for message_id, accepted in results.items():
        stored_id, state = by_message[message_id]
        assert stored_id == accepted["contact_id"]
        assert state in ("queued", "offered", "assigned")
    # nothing twice: at most one accepted offer per contact, one holder per contact
    doubled = cluster.rows(
        "select contact_id from offers where outcome='accepted' group by contact_id "
        "having count(*) > 1"
    )
    assert doubled == []
    assert all(len(holders) == 1 for holders in told.values()), told
    # what the desktops were told is what is stored (their events follow the commits)
    assigned = cluster.rows("select id, agent_id from contacts where state='assigned'")
    assert {cid for cid, _agent in assigned} == set(told)
    assert 0 in {status for _m, status in log} or 503 in {status for _m, status in log}


async def test_a_rolling_restart_hands_routing_over_at_once(cluster: Cluster) -> None:
    a, b = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
        token = await create_agent(http, "eva", **AGENT, name="Eva", capacity={"chat": 2})
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        held = (await http.post("/v1/contacts", json=contact_body("before"))).json()
        offer = await desk.next_event("offer")
        assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
        # a web-chat customer on node b, answered by the same agent
        chat = await websockets.connect(b.url.replace("http", "ws") + "/v1/chat")
        await chat.send(json.dumps({"type": "start", "text": "Buongiorno, la bolletta?"}))
        started = json.loads(await chat.recv())
        assert started["type"] == "started"
        assert started["estimated_wait"] == 0.0  # Eva has a free chat slot: offered at once
        chat_offer = await desk.next_event("offer")
        assert chat_offer["contact"]["contact_id"] == started["contact_id"]
        assert (await desk.request("accept", offer_id=chat_offer["offer_id"]))["type"] == "ack"
        assert json.loads(await chat.recv()) == {"type": "agent_joined", "agent": "Eva"}

        handover = time.monotonic()
        a.stop()  # SIGTERM: the lease is given back, no need to wait for it to lapse
        await until(lambda: role(b) == "active", what="node-b to take over")
        assert time.monotonic() - handover < 10
        # the desktop, connected to b all along, gets a fresh welcome from the new router
        welcome = await desk.next_event("welcome", timeout=10)
        assert sorted(c["contact"]["contact_id"] for c in welcome["state"]["contacts"]) == sorted(
            [held["contact_id"], started["contact_id"]]
        )
        presence = await desk.next_event("presence")  # back to what the agent had chosen
        assert presence["presence"] == "available"
        # the chat goes on across the handover, both ways
        said = await desk.request("message", contact_id=started["contact_id"], text="Eccomi")
        assert said["type"] == "ack", said
        assert json.loads(await chat.recv()) == {
            "type": "message",
            "from": "agent",
            "agent": "Eva",
            "text": "Eccomi",
        }
        await chat.send(json.dumps({"type": "message", "text": "Grazie!"}))
        heard = await desk.next_event("message")
        assert heard["contact_id"] == started["contact_id"] and heard["text"] == "Grazie!"
        await chat.close()

        restarted = cluster.node("node-a2")
        assert role(restarted) == "standby"
        async with httpx.AsyncClient(base_url=restarted.url, timeout=10) as again:
            after = (await again.post("/v1/contacts", json=contact_body("after"))).json()
            assert after["duplicate"] is False
            health = (await again.get("/healthz")).json()
            assert health["role"] == "standby" and health["backend"] == "redis"
        wrap = await desk.next_event("wrap_up")  # the customer closed the chat
        assert wrap["contact_id"] == started["contact_id"]
        await desk.close()


async def test_nodes_carry_on_after_redis_restarts_empty(
    cluster: Cluster, redis_server: RedisServer
) -> None:
    a, b = await active_and_standby(cluster)
    async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
        token = await create_agent(http, "eva", **AGENT, capacity={"chat": 2})
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        held = (await http.post("/v1/contacts", json=contact_body("before"))).json()
        offer = await desk.next_event("offer")
        assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
        redis_server.stop()  # Redis keeps nothing on disk: it comes back empty
        redis_server.start()
        await until(
            lambda: "active" in (role(a), role(b)), timeout=30, what="a router to lead again"
        )
        # the epoch counter restarted at 1 in Redis; the new router moved past the fence
        fence = cluster.rows("select epoch from router_fence")
        assert fence and fence[0][0] > 1
        after = await post_until_accepted([b], "after", [])
        # the desktop's stream was lost with Redis: it is closed and logs in again
        with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
            for _ in range(50):
                await desk.recv(timeout=10)
        again = Desktop(b.ws_url, token)
        welcome = await again.connect()
        assert [c["contact"]["contact_id"] for c in welcome["state"]["contacts"]] == [
            held["contact_id"]
        ]
        second = await again.next_event("offer", timeout=10)
        assert second["contact"]["contact_id"] == after["contact_id"]
        await again.close()
