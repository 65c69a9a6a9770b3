"""Voice webhooks (Twilio style) signed by the official twilio validator, over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from tests.live import REPO, ThreadServer, admin_headers, count_rows, online_desktop

TOKEN = "twilio-auth-token-for-tests"
SERVER_CONFIG = (REPO / "config.yaml").read_text()


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {"twilio_auth_token": TOKEN}


def contact_ids(tmp_path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(tmp_path / "centralino.db") as db:
        return [row[0] for row in db.execute("select id from contacts order by arrival")]


def callback(**fields: str) -> dict[str, str]:
    return {
        "CallSid": "CA100",
        "From": "+393331234567",
        "To": "+390212345678",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "CallerCountry": "IT",
        **fields,
    }


async def post_call(
    client: httpx.AsyncClient,
    server: ThreadServer,
    form: dict[str, str],
    signature: str | None = "sign",
) -> httpx.Response:
    url = f"{server.url}/v1/channels/twilio/webhook"
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = RequestValidator(TOKEN).compute_signature(url, form)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return await client.post(url, data=form, headers=headers)


async def test_a_ringing_call_becomes_a_voice_contact(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reply = await post_call(client, server, callback())
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/xml")
    assert "<Say" in reply.text and '<Play loop="0">' in reply.text  # held (test_voice_control)
    assert count_rows(tmp_path / "centralino.db", "contacts", "channel = 'voice'") == 1
    assert (
        count_rows(
            tmp_path / "centralino.db", "identities", "kind = 'phone' and value = '+393331234567'"
        )
        == 1
    )


async def test_forged_or_missing_signature_stores_nothing(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await post_call(client, server, callback(), signature=None)).status_code == 401
    forged = await post_call(client, server, callback(), signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    assert forged.status_code == 403
    # signed for other parameters (a replayed signature on a tampered body)
    url = f"{server.url}/v1/channels/twilio/webhook"
    other = RequestValidator(TOKEN).compute_signature(url, callback(From="+390000000000"))
    tampered = await post_call(client, server, callback(), signature=other)
    assert tampered.status_code == 403
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_malformed_callback_is_422(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reply = await post_call(client, server, {"From": "+393331234567", "CallStatus": "ringing"})
    assert reply.status_code == 422 and "CallSid" in reply.json()["detail"]
    weird = await post_call(client, server, callback(CallStatus="teleported"))
    assert weird.status_code == 422
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_retried_and_repeated_callbacks_make_one_contact(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    for status in ("ringing", "ringing", "in-progress"):
        assert (await post_call(client, server, callback(CallStatus=status))).status_code == 200
    assert count_rows(tmp_path / "centralino.db", "contacts") == 1


async def test_hang_up_before_answer_is_abandoned(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await post_call(client, server, callback())
    await post_call(client, server, callback(CallStatus="completed"))
    queues = (await client.get("/v1/queues", headers=admin_headers())).json()
    assert sum(q["waiting_total"] for q in queues) == 0
    (contact_id,) = contact_ids(tmp_path)
    stored = await client.get(f"/v1/contacts/{contact_id}", headers=admin_headers())
    assert stored.json()["state"] == "abandoned"
    unknown = await post_call(client, server, callback(CallSid="CA-never", CallStatus="completed"))
    assert unknown.status_code == 404


async def test_answered_call_ending_starts_wrap_up(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    desk = await online_desktop(server, client, "v1", skills={"customer_care": 5}, languages=["it"])
    await post_call(client, server, callback(CallSid="CA200"))
    offer = await desk.next_event("offer")
    assert offer["channel"] == "voice" and offer["contact"]["customer"]["phone"] == "+393331234567"
    await desk.request("accept", offer_id=offer["offer_id"])
    await post_call(client, server, callback(CallSid="CA200", CallStatus="completed"))
    assert (await desk.next_event("wrap_up"))["ended_by"] == "customer"
    await desk.close()


async def test_transcript_segments_rescore_a_waiting_caller(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    await post_call(client, server, callback(CallSid="CA300"))
    segment = {
        "call_id": "CA300",
        "text": "sono furioso, è la terza volta che chiamo!!!",
        "segment_id": "s1",
    }
    reply = await client.post("/v1/channels/voice/transcripts", json=segment)
    assert reply.status_code == 200, reply.text
    assert reply.json()["rescored"] is True and reply.json()["emotion"]["label"] == "negative"
    again = await client.post("/v1/channels/voice/transcripts", json=segment)
    assert again.json()["duplicate"] is True
    missing = await client.post(
        "/v1/channels/voice/transcripts", json={"call_id": "CA-none", "text": "pronto"}
    )
    assert missing.status_code == 404


async def test_disabled_channel_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.post("/v1/channels/meta/webhook", json={})).status_code == 404
