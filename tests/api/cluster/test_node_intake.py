"""Intake on every node: two `centralino serve` processes sharing PostgreSQL and a real
Redis. A new contact is stored by the node that received it; only its routing goes to the
active router. So a node keeps taking contacts while no router is active (a failover), and
the next router routes them; and two nodes receiving the same message id, or the same new
customer, at once make one contact and one customer (the database decides)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from api.cluster.node_intake import ROUTE
from router.cluster.keys import Keys
from tests.databases import postgres_database
from tests.engine_helpers import CONFIG
from tests.live import Desktop, ProcessServer, contact_body, create_agent
from tests.receivers import eventually
from tests.redis_server import RedisServer

AGENT = {"skills": {"billing": 5}, "languages": ["it"]}


def role(node: ProcessServer) -> str:
    try:
        return str(httpx.get(node.url + "/healthz", timeout=15).json()["role"])
    except httpx.HTTPError:
        return "down"


def serving(node: ProcessServer) -> bool:
    try:
        return bool(httpx.get(node.url + "/healthz", timeout=15).json().get("serving"))
    except httpx.HTTPError:
        return False


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


class Nodes:
    def __init__(self, tmp_path: Path, redis_url: str, database_url: str) -> None:
        self.tmp_path = tmp_path
        self.config = tmp_path / "config.yaml"
        self.config.write_text(CONFIG)
        self.redis_url = redis_url
        self.database_url = database_url
        self.running: list[ProcessServer] = []

    def start(self, name: str) -> ProcessServer:
        env = {
            "CENTRALINO_REDIS_URL": self.redis_url,
            "CENTRALINO_NODE_NAME": name,
            "CENTRALINO_LEASE_TTL": "6",  # generous: a starved process keeps its lease
            "CENTRALINO_COMMAND_TIMEOUT": "5",
        }
        node = ProcessServer(self.database_url, self.config, env=env, log_path=self.tmp_path / name)
        self.running.append(node.start())
        return node

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url.replace("+asyncpg", ""))
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()


@pytest.fixture
async def nodes(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> AsyncIterator[Nodes]:
    running = Nodes(tmp_path, redis_server.url, postgres_url)
    try:
        yield running
    finally:
        for node in running.running:
            node.stop()


async def active_and_standby(nodes: Nodes) -> tuple[ProcessServer, ProcessServer]:
    first = nodes.start("node-a")

    async def first_active() -> bool:
        return role(first) == "active" and serving(first)

    await eventually(first_active, "node-a to take the lease and serve commands")
    second = nodes.start("node-b")
    assert role(second) == "standby"
    return first, second


async def test_a_node_takes_contacts_while_no_router_is_active_and_the_next_one_routes_them(
    nodes: Nodes,
) -> None:
    a, b = await active_and_standby(nodes)
    async with httpx.AsyncClient(base_url=b.url, timeout=30) as http:
        token = await create_agent(http, "giulia", **AGENT)
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        first = await http.post("/v1/contacts", json=contact_body("before"))
        assert first.status_code == 202, first.text
        assert first.json()["state"] == "offered"  # stored on b, routed by a, offered on b
        offer = await desk.next_event("offer", timeout=30)
        assert offer["contact"]["contact_id"] == first.json()["contact_id"]

        a.kill()
        # a's lease outlives it; before it lapses, put there a lease of a router that never
        # expires: no router can be active now, whatever the machine's speed
        async with Redis.from_url(nodes.redis_url) as redis:
            await redis.set(Keys("default").lease, "0:gone")
            during = await http.post("/v1/contacts", json=contact_body("during"))
            assert during.status_code == 202, during.text  # stored: accepted means durable
            held = during.json()
            assert held["state"] == "received" and held["duplicate"] is False
            rows = await nodes.rows("select state from contacts where id=$1", held["contact_id"])
            assert [row["state"] for row in rows] == ["received"]
            again = await http.post("/v1/contacts", json=contact_body("during"))
            assert again.status_code == 202, again.text
            assert again.json()["contact_id"] == held["contact_id"]
            assert again.json()["duplicate"] is True
            await redis.delete(Keys("default").lease)  # a's lease lapses at last

        async def b_active() -> bool:
            return role(b) == "active"

        await eventually(b_active, "node-b to take over")

        async def planned() -> bool:
            found = await nodes.rows(
                "select state, queue from contacts where id=$1", held["contact_id"]
            )
            return found[0]["state"] != "received" and found[0]["queue"] != ""

        await eventually(planned, "the new router to plan the received contact")
        count = await nodes.rows("select count(*) from contacts where external_id='during'")
        assert count[0][0] == 1
        events = await nodes.rows(
            "select count(*) from outbox_events where contact_id=$1 and type='contact.queued'",
            held["contact_id"],
        )
        assert events[0][0] == 1  # its arrival announced once, with its plan
        await desk.close()


async def test_two_nodes_receiving_the_same_message_and_customer_at_once_make_one_of_each(
    nodes: Nodes,
) -> None:
    a, b = await active_and_standby(nodes)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
    ):
        for n in range(10):
            same = contact_body(f"twice-{n}", customer={"email": f"new-{n}@example.it"})
            replies = await asyncio.gather(
                on_a.post("/v1/contacts", json=same), on_b.post("/v1/contacts", json=same)
            )
            assert [reply.status_code for reply in replies] == [202, 202]
            bodies = [reply.json() for reply in replies]
            assert bodies[0]["contact_id"] == bodies[1]["contact_id"]
            assert sorted(body["duplicate"] for body in bodies) == [False, True]
            # a different message, the same new customer, on both nodes at once
            one = contact_body(f"first-{n}", customer={"email": f"other-{n}@example.it"})
            two = contact_body(f"second-{n}", customer={"email": f"other-{n}@example.it"})
            await asyncio.gather(
                on_a.post("/v1/contacts", json=one), on_b.post("/v1/contacts", json=two)
            )
    contacts = await nodes.rows("select external_id from contacts where external_id like 'twice-%'")
    assert len(contacts) == 10
    customers = await nodes.rows(
        "select external_id, customer_id from contacts where external_id like 'first-%' "
        "or external_id like 'second-%'"
    )
    by_message = {row["external_id"]: row["customer_id"] for row in customers}
    for n in range(10):
        assert by_message[f"first-{n}"] == by_message[f"second-{n}"] is not None
    identities = await nodes.rows(
        "select value, count(distinct customer_id) from identities "
        "where value like 'other-%' group by value"
    )
    assert len(identities) == 10 and all(row[1] == 1 for row in identities)


async def routes_of(redis: Redis, message_id: str) -> int:
    """``contact.route`` commands in the stream for the contact of this message id."""
    entries: Any = await redis.xrange(Keys("default").commands)
    return sum(
        fields[b"op"] == ROUTE.encode()
        and json.loads(fields[b"args"]).get("row", {}).get("external_id") == message_id
        for _entry_id, fields in entries
    )


async def ops_in_stream(redis: Redis) -> list[str]:
    entries: Any = await redis.xrange(Keys("default").commands)
    return [fields[b"op"].decode() for _entry_id, fields in entries]


async def test_the_router_routes_what_it_receives_itself_without_the_command_stream(
    nodes: Nodes,
) -> None:
    """The router's node takes a contact, an HTTP request and its desktops' logins and
    actions in its process; a standby node hands them to it through the stream."""
    a, b = await active_and_standby(nodes)
    async with (
        Redis.from_url(nodes.redis_url) as redis,
        httpx.AsyncClient(base_url=a.url, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=30) as on_b,
    ):
        token = await create_agent(on_a, "giulia", **AGENT)
        desk = Desktop(a.ws_url, token)
        await desk.connect()
        mine = await on_a.post("/v1/contacts", json=contact_body("to-the-router"))
        assert mine.status_code == 202, mine.text
        assert mine.json()["state"] == "offered"  # stored and routed on a
        offer = await desk.next_event("offer", timeout=30)
        assert offer["contact"]["contact_id"] == mine.json()["contact_id"]
        accepted = await desk.request("accept", offer_id=offer["offer_id"])
        assert accepted["type"] == "ack", accepted
        # no command went through Redis: not the contact's route, nor the agent's creation
        # (HTTP), nor the desktop's login and accept
        assert await ops_in_stream(redis) == []
        theirs = await on_b.post("/v1/contacts", json=contact_body("to-the-standby"))
        assert theirs.status_code == 202, theirs.text
        assert theirs.json()["state"] != "received"  # routed by a
        assert await routes_of(redis, "to-the-standby") == 1  # b's: contact.route to a
        assert await ops_in_stream(redis) == [ROUTE]
        other = Desktop(b.ws_url, await create_agent(on_b, "marco", **AGENT))
        assert (await other.connect())["type"] == "welcome"
        assert await ops_in_stream(redis) == [ROUTE, "http", "desktop.login"]
        await other.close()

        async def both_planned() -> bool:  # a plan is committed after the 202, not before
            rows = await nodes.rows(
                "select state, queue from contacts where external_id in "
                "('to-the-router', 'to-the-standby')"
            )
            return sorted(row["queue"] for row in rows) == ["billing", "billing"] and (
                "received" not in [row["state"] for row in rows]
            )

        await eventually(both_planned, "both contacts' plans in the record")
        await desk.close()
