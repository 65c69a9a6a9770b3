"""Several nodes: a web chat whose connection dropped resumes on its node with its token."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import websockets

from tests.api.cluster.test_nodes import AGENT, Cluster, role, until
from tests.live import Desktop, create_agent
from tests.redis_server import RedisServer


async def test_a_chat_on_a_standby_node_resumes_with_its_token(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    cluster = Cluster(tmp_path, redis_server, CENTRALINO_CHAT_RESUME_GRACE="30")
    try:
        a = cluster.node("node-a")
        await until(lambda: role(a) == "active", what="node-a to take the lease")
        b = cluster.node("node-b")
        chat_url = b.url.replace("http", "ws") + "/v1/chat"
        async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
            token = await create_agent(http, "eva", **AGENT, name="Eva", capacity={"chat": 2})
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        chat = await websockets.connect(chat_url)
        await chat.send(json.dumps({"type": "start", "text": "Buongiorno, la bolletta?"}))
        started = json.loads(await chat.recv())
        offer = await desk.next_event("offer")
        assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
        assert json.loads(await chat.recv())["type"] == "agent_joined"
        await chat.close()  # dropped, not left

        said = await desk.request("message", contact_id=started["contact_id"], text="Eccomi")
        assert said["type"] == "ack", said
        forged = await websockets.connect(chat_url)
        await forged.send(
            json.dumps({"type": "resume", "session": started["session"], "token": "guess"})
        )
        assert json.loads(await forged.recv())["code"] == "bad_resume"
        await forged.close()

        back = await websockets.connect(chat_url)
        await back.send(
            json.dumps(
                {
                    "type": "resume",
                    "session": started["session"],
                    "token": started["resume_token"],
                }
            )
        )
        assert json.loads(await back.recv())["type"] == "resumed"
        assert json.loads(await back.recv())["text"] == "Eccomi"  # written while away
        await back.send(json.dumps({"type": "message", "text": "Grazie!"}))
        assert (await desk.next_event("message"))["text"] == "Grazie!"
        await back.send(json.dumps({"type": "leave"}))
        await back.wait_closed()
        assert (await desk.next_event("wrap_up"))["contact_id"] == started["contact_id"]
        await desk.close()
    finally:
        cluster.stop()


async def test_a_chat_on_a_standby_node_asks_for_a_callback(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    cluster = Cluster(tmp_path, redis_server)
    try:
        a = cluster.node("node-a")
        await until(lambda: role(a) == "active", what="node-a to take the lease")
        b = cluster.node("node-b")
        chat = await websockets.connect(b.url.replace("http", "ws") + "/v1/chat")
        await chat.send(json.dumps({"type": "start", "text": "Buongiorno, la bolletta?"}))
        started = json.loads(await chat.recv())
        await chat.send(json.dumps({"type": "callback", "number": "+39 02 555 0101"}))
        taken = json.loads(await chat.recv())
        assert taken["type"] == "callback", taken
        assert taken["callback"]["number"] == "+39 02 555 0101"
        await chat.send(json.dumps({"type": "leave"}))
        await chat.close()
        async with httpx.AsyncClient(base_url=b.url, timeout=10) as http:
            token = await create_agent(http, "eva", **AGENT, name="Eva", capacity={"chat": 2})
        desk = Desktop(b.ws_url, token)
        await desk.connect()
        offer = await desk.next_event("offer")  # kept its place after the customer left
        assert offer["contact"]["contact_id"] == started["contact_id"]
        assert offer["contact"]["callback"]["number"] == "+39 02 555 0101"
        await desk.close()
    finally:
        cluster.stop()
