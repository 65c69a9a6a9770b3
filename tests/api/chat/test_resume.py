"""Resuming a web chat after a dropped connection: only with the chat's own token."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.live import REPO, ChatCustomer, ThreadServer, admin_headers, online_desktop

CONFIG = (REPO / "config.yaml").read_text()


@pytest.fixture
def resumable(tmp_path: Path) -> Any:
    server = ThreadServer(tmp_path / "r.db", config=CONFIG, chat_resume_grace=30).start()
    try:
        yield server
    finally:
        server.stop()


async def resume(server: ThreadServer, session: str, token: str) -> tuple[Any, dict[str, Any]]:
    ws = await websockets.connect(server.ws_url.replace("/v1/desktop", "/v1/chat"))
    await ws.send(json.dumps({"type": "resume", "session": session, "token": token}))
    return ws, json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_a_dropped_chat_resumes_with_its_token_only(resumable: ThreadServer) -> None:
    async with httpx.AsyncClient(base_url=resumable.url) as client:
        agent = await online_desktop(
            resumable, client, "sara", name="Sara", skills={"customer_care": 5}, languages=["it"]
        )
    customer = ChatCustomer(resumable)
    started = await customer.start("Buongiorno", language="it")
    other = ChatCustomer(resumable)
    other_started = await other.start("Salve", language="it")
    session, token = started["session"], started["resume_token"]
    offer = await agent.next_event("offer")
    while offer["contact"]["contact_id"] != started["contact_id"]:
        offer = await agent.next_event("offer")
    await agent.request("accept", offer_id=offer["offer_id"])
    await customer.next("agent_joined")

    await customer.ws.close()  # the train went into a tunnel
    reply = await agent.request("message", contact_id=started["contact_id"], text="ci sei?")
    assert reply["type"] == "ack"  # the chat is parked, not over

    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), other_started["resume_token"]):
        ws, answer = await resume(resumable, session, wrong)
        assert answer["code"] == "bad_resume"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

    ws, answer = await resume(resumable, session, token)
    assert answer == {"type": "resumed", "session": session, "contact_id": started["contact_id"]}
    waiting = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert waiting["type"] == "message" and waiting["text"] == "ci sei?"
    await ws.send(json.dumps({"type": "message", "text": "sì, eccomi"}))
    said = await agent.next_event("message")
    assert said["text"] == "sì, eccomi"

    ws2, answer = await resume(resumable, session, token)  # a second socket cannot join
    assert answer["code"] == "bad_resume"
    await ws2.close()
    await ws.send(json.dumps({"type": "leave"}))
    await ws.wait_closed()
    await agent.next_event("wrap_up")
    await agent.close()
    await other.ws.close()


async def test_a_parked_chat_ends_when_the_grace_runs_out(tmp_path: Path) -> None:
    server = ThreadServer(tmp_path / "g.db", config=CONFIG, chat_resume_grace=0.2).start()
    try:
        customer = ChatCustomer(server)
        started = await customer.start("C'è qualcuno?", language="it")
        await customer.ws.close()
        async with httpx.AsyncClient(base_url=server.url) as client:
            for _ in range(500):  # until the grace has run out
                stored = await client.get(
                    f"/v1/contacts/{started['contact_id']}", headers=admin_headers()
                )
                if stored.json()["state"] == "abandoned":
                    break
                await asyncio.sleep(0.02)
        assert stored.json()["state"] == "abandoned"
        ws, answer = await resume(server, started["session"], started["resume_token"])
        assert answer["code"] == "bad_resume"
        await ws.close()
    finally:
        server.stop()


async def test_without_a_grace_there_is_no_resume(server: ThreadServer) -> None:
    customer = ChatCustomer(server)
    started = await customer.start("ciao", language="it")
    assert "resume_token" not in started
    await customer.ws.close()
    ws, answer = await resume(server, started["session"], "guess")
    assert answer["code"] == "bad_resume"
    await ws.close()
