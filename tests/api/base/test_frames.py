"""Every websocket speaks JSON text: a binary frame is refused clearly, never a crash."""

from __future__ import annotations

import json

import httpx
import pytest
import websockets

from tests.live import ADMIN, ThreadServer, create_agent


async def test_binary_frames_are_refused_without_breaking_the_session(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    base = server.ws_url.replace("/v1/desktop", "")
    token = await create_agent(client, "bin", skills={"billing": 5}, languages=["it"])
    async with websockets.connect(f"{base}/v1/desktop") as ws:
        await ws.send(b"\x00\x01")
        refused = json.loads(await ws.recv())
        assert refused["code"] == "bad_message" and "binary" in refused["message"]
        with pytest.raises(websockets.ConnectionClosed):
            await ws.recv()
    async with websockets.connect(f"{base}/v1/desktop") as ws:
        await ws.send(json.dumps({"type": "login", "token": token}))
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(b"\xff")
        while (reply := json.loads(await ws.recv()))["type"] != "error":
            pass
        assert "binary" in reply["message"]
        await ws.send(json.dumps({"type": "ping", "ref": "p"}))
        while (reply := json.loads(await ws.recv()))["type"] != "pong":
            pass  # the session is still alive
    async with websockets.connect(f"{base}/v1/chat") as ws:
        await ws.send(b"\x00")
        assert json.loads(await ws.recv())["code"] == "bad_message"
    async with websockets.connect(f"{base}/v1/chat") as ws:
        await ws.send(json.dumps({"type": "start", "text": "ciao", "language": "it"}))
        assert json.loads(await ws.recv())["type"] == "started"
        await ws.send(b"\x00")
        assert "binary" in json.loads(await ws.recv())["message"]
    async with websockets.connect(f"{base}/v1/wallboard") as ws:
        await ws.send(b"\x00")
        assert json.loads(await ws.recv())["code"] == "unauthorized"
    async with websockets.connect(f"{base}/v1/wallboard") as ws:
        await ws.send(json.dumps({"type": "login", "token": ADMIN}))
        assert json.loads(await ws.recv())["type"] == "snapshot"
        await ws.send(b"\x00")  # ignored
        assert json.loads(await ws.recv())["type"] == "snapshot"
