"""docs/examples/asterisk/pbx_bridge.py against a fake Asterisk that speaks ARI's HTTP and
websocket messages, and a real centralino: the call is held and pushed in through the
generic intake, the agent accepts on a desktop, the bridge dials the agent's SIP endpoint
and bridges both legs; the caller hanging up ends the contact."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.live import ADMIN, REPO, LoopbackServer, ThreadServer, online_desktop
from tests.receivers import until

SERVER_CONFIG = (REPO / "config.yaml").read_text()
EXAMPLE = REPO / "docs" / "examples" / "asterisk" / "pbx_bridge.py"


class FakeAri:
    """ARI's REST calls are recorded (method, path, query); events are pushed to the app's
    websocket by the test."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.auth: list[str] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.events: asyncio.Queue[dict[str, Any]] | None = None
        self.loopback = LoopbackServer(self.app, force_exit=True)  # its websocket never ends
        self.url = self.loopback.url

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        elif scope["type"] == "websocket":
            query = parse_qs(scope["query_string"].decode())
            assert scope["path"] == "/ari/events" and query["app"] == ["centralino"]
            assert query["api_key"] == ["ari:secret"]
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            self.loop, self.events = asyncio.get_running_loop(), asyncio.Queue()
            while True:
                event = await self.events.get()
                await send({"type": "websocket.send", "text": json.dumps(event)})
        else:
            while (await receive()).get("more_body"):
                pass
            query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
            headers = dict(scope["headers"])
            self.auth.append(headers.get(b"authorization", b"").decode())
            self.requests.append((scope["method"], scope["path"], query))
            body = b'{"id": "bridge-1"}' if scope["path"] == "/ari/bridges" else b"{}"
            start = {"type": "http.response.start", "status": 200, "headers": []}
            await send(start)
            await send({"type": "http.response.body", "body": body})

    def push(self, event: dict[str, Any]) -> None:
        assert self.loop is not None and self.events is not None
        asyncio.run_coroutine_threadsafe(self.events.put(event), self.loop).result(5)

    def saw(self, method: str, path: str) -> list[dict[str, str]]:
        return [q for m, p, q in list(self.requests) if (m, p) == (method, path)]

    def start(self) -> FakeAri:
        self.loopback.start()
        return self

    def stop(self) -> None:
        self.loopback.stop()


@pytest.fixture
def ari() -> Iterator[FakeAri]:
    fake = FakeAri().start()
    try:
        yield fake
    finally:
        fake.stop()


def load_bridge_module() -> Any:
    spec = importlib.util.spec_from_file_location("pbx_bridge", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


async def test_a_pbx_call_is_held_routed_and_bridged_to_the_agent(
    server: ThreadServer, client: httpx.AsyncClient, ari: FakeAri
) -> None:
    example = load_bridge_module()
    bridge = example.Bridge(server.url, ADMIN, ari.url, "ari", "secret")
    running = asyncio.create_task(bridge.run())
    try:
        desk = await online_desktop(
            server,
            client,
            "anna",
            skills={"customer_care": 5},
            languages=["it"],
            endpoint={"kind": "sip", "value": "sip:anna@pbx.example.com"},
        )
        await until(lambda: ari.events is not None, what="the bridge on ARI's websocket")
        caller = {"id": "1700.1", "caller": {"number": "+393331234567", "name": ""}}
        ari.push({"type": "StasisStart", "channel": caller, "args": ["inbound"]})
        await until(lambda: ari.saw("POST", "/ari/channels/1700.1/moh"), what="music on hold")
        offer = await desk.next_event("offer", timeout=30)
        assert offer["channel"] == "voice"
        assert offer["contact"]["customer"]["phone"] == "+393331234567"
        assert ari.saw("POST", "/ari/channels") == []  # nobody dialled before the accept

        await desk.request("accept", offer_id=offer["offer_id"])
        (dialled,) = await until(lambda: ari.saw("POST", "/ari/channels"), what="the dial")
        assert dialled["endpoint"] == "PJSIP/anna" and dialled["appArgs"] == "agent,1700.1"
        ari.push({"type": "StasisStart", "channel": {"id": "1700.2"}, "args": ["agent", "1700.1"]})
        (added,) = await until(
            lambda: ari.saw("POST", "/ari/bridges/bridge-1/addChannel"), what="the bridge"
        )
        assert added["channel"] == "1700.1,1700.2"
        assert ari.saw("DELETE", "/ari/channels/1700.1/moh")
        assert all(auth.startswith("Basic ") for auth in ari.auth)

        ari.push({"type": "StasisEnd", "channel": caller})
        assert (await desk.next_event("wrap_up", timeout=30))["ended_by"] == "customer"
        await desk.close()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await bridge.close()
