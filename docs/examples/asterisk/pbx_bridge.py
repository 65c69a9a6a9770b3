"""Asterisk (ARI) <-> centralino: hold a call, hand it to the router, bridge it to the agent
who accepts it. See README.md next to this file.

Environment: CENTRALINO_URL, CENTRALINO_GATEWAY_TOKEN (or the admin token when the server
has no gateway token), ARI_URL, ARI_USER, ARI_PASSWORD, ARI_APP (default "centralino").
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import websockets

log = logging.getLogger("pbx_bridge")
GATEWAY = "asterisk"


@dataclass
class Bridge:
    centralino_url: str
    token: str
    ari_url: str
    ari_user: str
    ari_password: str
    app: str = "centralino"
    calls: dict[str, str] = field(default_factory=dict)  # caller channel -> contact id
    bridged: set[str] = field(default_factory=set)  # caller channels connected to an agent
    last_event_id: str | None = None

    def __post_init__(self) -> None:
        self.ari = httpx.AsyncClient(
            base_url=self.ari_url.rstrip("/") + "/ari", auth=(self.ari_user, self.ari_password)
        )
        self.router = httpx.AsyncClient(
            base_url=self.centralino_url.rstrip("/"),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(10.0, read=None),
        )

    async def run(self) -> None:
        await asyncio.gather(self.follow_asterisk(), self.follow_centralino())

    async def close(self) -> None:
        await self.ari.aclose()
        await self.router.aclose()

    # ------------------------------------------------------------------ Asterisk

    async def follow_asterisk(self) -> None:
        ws_url = self.ari_url.replace("http", "ws", 1).rstrip("/")
        credentials = quote(f"{self.ari_user}:{self.ari_password}")
        url = f"{ws_url}/ari/events?app={self.app}&api_key={credentials}"
        while True:
            try:
                async with websockets.connect(url) as events:
                    async for raw in events:
                        await self.on_asterisk(json.loads(raw))
            except (OSError, websockets.ConnectionClosed) as exc:
                log.warning("ARI events lost (%s); reconnecting", exc)
                await asyncio.sleep(1.0)

    async def on_asterisk(self, event: dict[str, Any]) -> None:
        kind, channel = event.get("type"), event.get("channel") or {}
        args = event.get("args") or []
        if kind == "StasisStart" and args[:1] == ["agent"]:
            await self.connect(caller=args[1], agent=channel["id"])
        elif kind == "StasisStart":
            await self.hold(channel)
        elif kind in ("StasisEnd", "ChannelDestroyed") and channel.get("id") in self.calls:
            contact_id = self.calls.pop(channel["id"])
            await self.router.post(f"/v1/contacts/{contact_id}/end")

    async def hold(self, channel: dict[str, Any]) -> None:
        await self.ari.post(f"/channels/{channel['id']}/moh", params={"mohClass": "default"})
        caller = channel.get("caller") or {}
        body = {
            "gateway": GATEWAY,
            "message_id": channel["id"],
            "channel": "voice",
            "language": channel.get("language") or "it",
            "customer": {"phone": caller.get("number") or None, "name": caller.get("name", "")},
        }
        reply = await self.router.post("/v1/contacts", json=body)
        reply.raise_for_status()
        self.calls[channel["id"]] = reply.json()["contact_id"]

    async def connect(self, caller: str, agent: str) -> None:
        await self.ari.delete(f"/channels/{caller}/moh")
        bridge = (await self.ari.post("/bridges", params={"type": "mixing"})).json()
        await self.ari.post(
            f"/bridges/{bridge['id']}/addChannel", params={"channel": f"{caller},{agent}"}
        )
        self.bridged.add(caller)

    # ---------------------------------------------------------------- centralino

    async def follow_centralino(self) -> None:
        while True:
            headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
            params = {"types": "contact.assigned"}
            try:
                async with self.router.stream(
                    "GET", "/v1/events/stream", params=params, headers=headers
                ) as stream:
                    async for line in stream.aiter_lines():
                        if line.startswith("data: "):
                            event = json.loads(line[6:])
                            self.last_event_id = event["id"]
                            await self.on_assigned(event)
            except httpx.HTTPError as exc:
                log.warning("centralino events lost (%s); resuming", exc)
                await asyncio.sleep(1.0)

    async def on_assigned(self, event: dict[str, Any]) -> None:
        contact = event["contact"]
        if contact.get("gateway") != GATEWAY or contact["external_id"] not in self.calls:
            return
        endpoint = event["data"]["agent"].get("endpoint") or {}
        if endpoint.get("kind") != "sip":
            log.error("agent %s has no SIP endpoint", event["data"]["agent"]["id"])
            return
        user = endpoint["value"].split(":", 1)[1].split("@", 1)[0]
        await self.ari.post(
            "/channels",
            params={
                "endpoint": f"PJSIP/{user}",
                "app": self.app,
                "appArgs": f"agent,{contact['external_id']}",
                "callerId": "centralino",
            },
        )


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    bridge = Bridge(
        centralino_url=os.environ.get("CENTRALINO_URL", "http://127.0.0.1:8000"),
        token=os.environ["CENTRALINO_GATEWAY_TOKEN"],
        ari_url=os.environ.get("ARI_URL", "http://127.0.0.1:8088"),
        ari_user=os.environ.get("ARI_USER", "centralino"),
        ari_password=os.environ["ARI_PASSWORD"],
        app=os.environ.get("ARI_APP", "centralino"),
    )
    asyncio.run(bridge.run())


if __name__ == "__main__":
    main()
