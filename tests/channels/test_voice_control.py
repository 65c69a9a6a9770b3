"""Calls reach the agent: a call comes in through the Twilio webhook, the caller is held
(TwiML checked), an agent accepts on a real desktop, and a local server speaking Twilio's
REST format receives the redirect of that call to the agent's endpoint."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.channels.test_voice import TOKEN, callback, post_call
from tests.live import REPO, ThreadServer, online_desktop
from tests.receivers import Received, Receiver, until

ACCOUNT = "AC0123456789abcdef0123456789abcdef"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Calls/"
# voice offers ring 2 s here (15 s in the example config), so a missed offer is quick
SERVER_CONFIG = (
    (REPO / "config.yaml").read_text().replace("offer_timeout: 15s", "offer_timeout: 2s")
)


def twilio_answer(request: Received) -> tuple[int, bytes]:
    """Twilio's Calls resource: basic auth with the account, form-encoded Twiml."""
    expected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    if request.headers.get("authorization") != expected:
        return 401, b'{"code": 20003, "message": "Authenticate"}'
    if not request.path.startswith(CALLS_PATH) or not request.path.endswith(".json"):
        return 404, b'{"code": 20404, "message": "The requested resource was not found"}'
    if "Twiml" not in request.form():
        return 400, b'{"code": 21205, "message": "Url or Twiml parameter is required"}'
    return 200, b'{"sid": "CA", "status": "in-progress"}'


@pytest.fixture
def twilio() -> Iterator[Receiver]:
    running = Receiver(twilio_answer).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server(tmp_path: Path, twilio: Receiver) -> Iterator[ThreadServer]:
    running = ThreadServer(
        tmp_path / "centralino.db",
        config=SERVER_CONFIG,
        twilio_auth_token=TOKEN,
        twilio_account_sid=ACCOUNT,
        twilio_api_url=twilio.url,
        voice_hold_music_url="https://music.example.com/hold.mp3",
    ).start()
    try:
        yield running
    finally:
        running.stop()


def redirects(twilio: Receiver) -> list[tuple[str, str]]:
    """(CallSid, TwiML) of every redirect the fake Twilio accepted."""
    out = []
    for request in twilio.accepted():
        call_sid = request.path.removeprefix(CALLS_PATH).removesuffix(".json")
        out.append((call_sid, request.form()["Twiml"]))
    return out


def dial_target(twiml: str) -> tuple[str, str]:
    dial = ET.fromstring(twiml).find("Dial")
    assert dial is not None, twiml
    (target,) = list(dial)
    return target.tag, (target.text or "")


async def test_a_held_caller_is_bridged_to_the_agent_who_accepts(
    server: ThreadServer, client: httpx.AsyncClient, twilio: Receiver
) -> None:
    reply = await post_call(client, server, callback(CallSid="CA900"))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/xml")
    held = ET.fromstring(reply.text)
    say, play = held.find("Say"), held.find("Play")
    assert (
        say is not None and say.get("language") == "it-IT" and "resti in linea" in (say.text or "")
    )
    assert play is not None and play.get("loop") == "0"
    assert play.text == "https://music.example.com/hold.mp3"
    assert redirects(twilio) == []  # nobody accepted yet: the caller stays on hold

    desk = await online_desktop(
        server,
        client,
        "v1",
        skills={"customer_care": 5},
        languages=["it"],
        endpoint={"kind": "client", "value": "agent-v1"},
    )
    offer = await desk.next_event("offer")
    assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    ((call_sid, twiml),) = await until(lambda: redirects(twilio), what="the redirect")
    assert call_sid == "CA900"
    assert dial_target(twiml) == ("Client", "agent-v1")
    await desk.close()


async def test_a_missed_offer_keeps_the_caller_held_until_the_next_agent_accepts(
    server: ThreadServer, client: httpx.AsyncClient, twilio: Receiver
) -> None:
    profile: dict[str, Any] = {"skills": {"customer_care": 5}, "languages": ["it"]}
    first = await online_desktop(
        server, client, "v1", endpoint={"kind": "sip", "value": "sip:v1@pbx.example.com"}, **profile
    )
    await post_call(client, server, callback(CallSid="CA901"))
    missed = await first.next_event("offer")
    assert missed["channel"] == "voice"
    second = await online_desktop(
        server, client, "v2", endpoint={"kind": "phone", "value": "+390212345678"}, **profile
    )
    # v1 lets it ring out (2 s); the caller keeps their place and it goes to v2
    offer = await second.next_event("offer", timeout=30)
    assert offer["contact"]["contact_id"] == missed["contact"]["contact_id"]
    assert redirects(twilio) == []
    await second.request("accept", offer_id=offer["offer_id"])
    ((call_sid, twiml),) = await until(lambda: redirects(twilio), what="the redirect")
    assert (call_sid, dial_target(twiml)) == ("CA901", ("Number", "+390212345678"))
    await first.close()
    await second.close()


async def test_an_agent_without_an_endpoint_shows_the_reason_on_the_subscription(
    server: ThreadServer, client: httpx.AsyncClient, twilio: Receiver
) -> None:
    from tests.live import admin_headers

    desk = await online_desktop(server, client, "v3", skills={"customer_care": 5}, languages=["it"])
    await post_call(client, server, callback(CallSid="CA902"))
    offer = await desk.next_event("offer")
    await desk.request("accept", offer_id=offer["offer_id"])

    def status() -> dict[str, Any]:
        reply = httpx.get(f"{server.url}/v1/subscriptions/twilio-calls", headers=admin_headers())
        return dict(reply.json())

    await until(lambda: "no voice endpoint" in status()["last_error"], what="the reason")
    assert redirects(twilio) == []
    await desk.close()
