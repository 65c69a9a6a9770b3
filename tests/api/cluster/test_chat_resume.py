"""Several nodes: a web chat whose connection dropped resumes on its node with its token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
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


async def test_a_chat_on_a_standby_node_the_store_cannot_take_is_told_to_try_again(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    """The active router cannot write (a table gone from under it): a chat started on the
    standby gets ``unavailable`` and 1013, not a bad start (4400); a message of a chat
    under way gets ``unavailable`` (send it again) and the chat goes on."""
    cluster = Cluster(tmp_path, redis_server)
    try:
        a = cluster.node("node-a")
        await until(lambda: role(a) == "active", what="node-a to take the lease")
        b = cluster.node("node-b")
        chat_url = b.url.replace("http", "ws") + "/v1/chat"
        started_chat = await websockets.connect(chat_url)
        await started_chat.send(json.dumps({"type": "start", "text": "Buongiorno, la bolletta?"}))
        assert json.loads(await asyncio.wait_for(started_chat.recv(), 30))["type"] == "started"
        with sqlite3.connect(cluster.database) as db:
            db.execute("ALTER TABLE contacts RENAME TO contacts_gone")
        refused = await websockets.connect(chat_url)
        await refused.send(json.dumps({"type": "start", "text": "Buonasera, un guasto"}))
        assert json.loads(await asyncio.wait_for(refused.recv(), 30))["code"] == "unavailable"
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(refused.recv(), 30)
        assert refused.close_code == 1013
        with sqlite3.connect(cluster.database) as db:
            db.execute("ALTER TABLE contacts_gone RENAME TO contacts")
            db.execute("ALTER TABLE messages RENAME TO messages_gone")
        await started_chat.send(json.dumps({"type": "message", "text": "Ci siete?"}))
        while (lost := json.loads(await asyncio.wait_for(started_chat.recv(), 30)))[
            "type"
        ] != "error":
            pass  # an estimate of the wait may come first
        assert lost["code"] == "unavailable" and "send it again" in lost["message"], lost
        with sqlite3.connect(cluster.database) as db:
            db.execute("ALTER TABLE messages_gone RENAME TO messages")
        await started_chat.send(json.dumps({"type": "message", "text": "Ci siete?"}))
        await until(
            lambda: (
                cluster.rows("select count(*) from messages where text = 'Ci siete?'") == [(1,)]
            ),
            what="the message sent again, stored",
        )
        await started_chat.close()
    finally:
        cluster.stop()
