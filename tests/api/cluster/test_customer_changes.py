"""Customer changes reach every node's caches through a real Redis: two routing domains
(each node the active router of its own), one PostgreSQL database. The north node caches which
customer an identity belongs to; an erasure or an unmerge made on the south node must make
north forget it, and an erasure takes the customer's contacts out of north's desktop
streams in Redis."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from router.cluster.commands import CommandClient
from router.cluster.keys import Keys
from tests.databases import postgres_database
from tests.engine_helpers import CONFIG
from tests.live import ADMIN, Desktop, ProcessServer, admin_headers, contact_body, create_agent
from tests.receivers import eventually
from tests.redis_server import RedisServer

PAOLO = {"name": "Paolo Neri", "email": "paolo@example.it"}
ANNA = {"name": "Anna Neri", "email": "anna@example.it", "phone": "+39 347 000 1111"}
SHARED_PHONE = {"email": "paolo@example.it", "phone": "+39 347 000 1111"}


def active(node: ProcessServer) -> bool:
    try:
        return bool(httpx.get(node.url + "/healthz", timeout=15).json()["role"] == "active")
    except httpx.HTTPError:
        return False


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


@pytest.fixture
def domains(
    tmp_path: Path, redis_server: RedisServer, postgres_url: str
) -> Iterator[tuple[ProcessServer, ProcessServer]]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    nodes = []
    try:
        for name in ("north", "south"):
            env = {
                "CENTRALINO_REDIS_URL": redis_server.url,
                "CENTRALINO_ROUTING_DOMAIN": name,
                "CENTRALINO_NODE_NAME": name,
                "CENTRALINO_LEASE_TTL": "6",
                "CENTRALINO_COMMAND_TIMEOUT": "10",
                "CENTRALINO_ADMIN_TOKEN": ADMIN,
            }
            node = ProcessServer(  # both share one PostgreSQL database
                postgres_url, config, env=env, log_path=tmp_path / f"{name}.log"
            )
            nodes.append(node.start())
        deadline = time.monotonic() + 30
        while not all(active(node) for node in nodes):
            assert time.monotonic() < deadline, "both domains should get an active router"
            time.sleep(0.1)
        yield nodes[0], nodes[1]
    finally:
        for node in nodes:
            node.stop()


async def customer_of(client: httpx.AsyncClient, contact_id: str) -> str | None:
    reply = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    assert reply.status_code == 200, reply.text
    found: str | None = reply.json()["customer_id"]
    return found


async def commands_mentioning(redis: Redis, domain: str, word: bytes) -> int:
    """Commands in the domain's stream holding ``word``: a forwarded request's body, or a
    contact a node stored and asks the router to route (its row)."""
    entries: Any = await redis.xrange(Keys(domain).commands)
    found = 0
    for _entry_id, fields in entries:
        body = json.loads(fields[b"args"]).get("body", "")
        found += word in base64.b64decode(body) or word in fields[b"args"]
    return found


async def forwarded(redis: Redis, domain: str, path: str, payload: dict[str, Any]) -> Any:
    """A POST as a node of ``domain`` that does not route forwards it (api/cluster/edge.py's
    ForwardToRouter): through the command stream; the router's reply."""
    request = {
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path,
        "query": "",
        "headers": [["content-type", "application/json"]],
        "body": base64.b64encode(json.dumps(payload).encode()).decode(),
        "client": ["127.0.0.1", 40000],
        "server": None,
    }
    return await CommandClient(redis, Keys(domain), timeout=15).call("http", request)


class Sender:
    """Emails to one node, each with a new message id."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.sent = 0

    async def __call__(self, customer: dict[str, Any], text: str = "Buongiorno") -> str:
        self.sent += 1
        body = contact_body(f"mail-{self.sent}", channel="email", customer=customer, text=text)
        reply = await self.client.post("/v1/contacts", json=body)
        assert reply.status_code == 202, reply.text
        contact_id: str = reply.json()["contact_id"]
        return contact_id


async def test_an_erasure_on_one_node_clears_another_nodes_caches_and_desk_streams(
    domains: tuple[ProcessServer, ProcessServer], redis_server: RedisServer
) -> None:
    north, south = domains
    redis = Redis.from_url(redis_server.url)
    async with (
        httpx.AsyncClient(base_url=north.url, timeout=15) as on_north,
        httpx.AsyncClient(base_url=south.url, timeout=15) as on_south,
    ):
        send = Sender(on_north)
        token = await create_agent(on_north, "giulia", skills={"billing": 5}, languages=["it"])
        desk = Desktop(north.ws_url, token)
        await desk.connect()
        first = await send(PAOLO, "Il mio IBAN è IT60X0542811101000000123456")
        # north routes its own contacts in its process: no command carries this one
        assert await commands_mentioning(redis, "north", b"IBAN") == 0
        # north runs its own requests in its process too; another node of north's domain
        # forwards them through the stream, where they stay after they were applied
        said = await forwarded(
            redis,
            "north",
            f"/v1/contacts/{first}/messages",
            {"text": "IBAN IT60X0542811101000000123456"},
        )
        assert said["status"] < 300, said
        assert await commands_mentioning(redis, "north", b"IBAN") == 1  # as it was sent
        offer = await desk.next_event("offer", timeout=15)
        assert offer["contact"]["contact_id"] == first
        await desk.request("accept", offer_id=offer["offer_id"])
        await desk.request("wrap_up", contact_id=first, outcome="fatto", resolved=True)
        paolo = await customer_of(on_north, first)
        assert paolo is not None
        second = await send(PAOLO)
        assert await customer_of(on_north, second) == paolo  # north knows him now
        ended = await on_north.post(f"/v1/contacts/{second}/end")
        assert ended.status_code < 300, ended.text  # he hung up before an answer

        async def erased() -> bool:
            reply = await on_south.delete(f"/v1/customers/{paolo}", headers=admin_headers())
            assert reply.status_code in (200, 409), reply.text  # 409: a contact still live
            return reply.status_code == 200

        await eventually(erased, "the erasure on south")

        async def north_forgot() -> bool:
            return await customer_of(on_north, await send(PAOLO)) != paolo

        await eventually(north_forgot, "north's identity cache to forget the erased customer")
        try:

            async def desk_scrubbed() -> bool:
                entries: Any = await redis.xrange(Keys("north").desk("giulia"))
                return bool(entries) and "IBAN" not in str(
                    [json.loads(fields[b"m"]) for _id, fields in entries]
                )

            await eventually(desk_scrubbed, "the erased contact to leave north's desk stream")

            async def commands_trimmed() -> bool:
                return await commands_mentioning(redis, "north", b"IBAN") == 0

            await eventually(commands_trimmed, "north's applied commands to be trimmed")
        finally:
            await redis.aclose()
        await desk.close()


async def test_an_unmerge_on_one_node_clears_another_nodes_cache(
    domains: tuple[ProcessServer, ProcessServer],
) -> None:
    """A shared family phone merged Anna into Paolo on north; south undoes the merge."""
    north, south = domains
    async with (
        httpx.AsyncClient(base_url=north.url, timeout=15) as on_north,
        httpx.AsyncClient(base_url=south.url, timeout=15) as on_south,
    ):
        send = Sender(on_north)
        paolo = await customer_of(on_north, await send(PAOLO))
        anna = await customer_of(on_north, await send(ANNA))
        assert paolo and anna and paolo != anna
        assert await customer_of(on_north, await send(SHARED_PHONE)) == paolo  # merged
        only_anna = {"email": "anna@example.it"}
        assert await customer_of(on_north, await send(only_anna)) == paolo  # now cached so
        profile = (await on_south.get(f"/v1/customers/{anna}", headers=admin_headers())).json()
        assert profile["customer_id"] == paolo
        (merge,) = profile["merges"]
        undone = await on_south.post(
            f"/v1/customers/merges/{merge['merge_id']}/undo", headers=admin_headers()
        )
        assert undone.status_code == 200, undone.text

        async def north_forgot() -> bool:
            return await customer_of(on_north, await send(only_anna)) == anna

        await eventually(north_forgot, "north's identity cache to forget the undone merge")
