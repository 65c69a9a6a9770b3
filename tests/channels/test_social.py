"""Meta (Messenger, Instagram, WhatsApp) and X webhooks with realistic payloads."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx

from tests.live import REPO, ThreadServer, admin_headers, count_rows

APP_SECRET = "meta-app-secret"
VERIFY = "meta-verify-token"
X_SECRET = "x-consumer-secret"
SERVER_CONFIG = (REPO / "config.yaml").read_text()


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {
        "meta_app_secret": APP_SECRET,
        "meta_verify_token": VERIFY,
        "x_consumer_secret": X_SECRET,
        "twilio_auth_token": "unused",
    }


def meta_signature(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(body: bytes) -> str:
    digest = hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


async def post_meta(
    client: httpx.AsyncClient, payload: dict[str, Any], signature: str | None = "sign"
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = meta_signature(body) if signature == "sign" else signature
    return await client.post("/v1/channels/meta/webhook", content=body, headers=headers)


def messenger(mid: str, text: str, sender: str = "6101234567") -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": "PAGE1",
                "time": 1732350000000,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "PAGE1"},
                        "timestamp": 1732350000000,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def whatsapp(wamid: str, text: str, wa_id: str = "393331234567") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "390212345678",
                                "phone_number_id": "PN1",
                            },
                            "contacts": [{"profile": {"name": "Mario Rossi"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": "1732350000",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def instagram_comment(comment_id: str, text: str) -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [
            {
                "id": "IG1",
                "time": 1732350000,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "id": comment_id,
                            "text": text,
                            "from": {"id": "17841400001", "username": "giulia.b"},
                            "media": {"id": "1790000001"},
                        },
                    }
                ],
            }
        ],
    }


async def test_meta_verification_challenge(client: httpx.AsyncClient) -> None:
    ok = await client.get(
        "/v1/channels/meta/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"},
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await client.get(
        "/v1/channels/meta/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert wrong.status_code == 403


async def test_messenger_message_then_follow_up_on_the_same_contact(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    reply = await post_meta(client, messenger("m_1", "Salve, la mia bolletta è sbagliata"))
    assert reply.status_code == 200
    follow = await post_meta(client, messenger("m_2", "Ci siete??? Nessuno risponde!"))
    assert follow.status_code == 200
    database = tmp_path / "centralino.db"
    assert count_rows(database, "contacts") == 1
    assert count_rows(database, "messages") == 1
    assert count_rows(database, "identities", "kind = 'messenger' and value = '6101234567'") == 1
    again = await post_meta(client, messenger("m_2", "Ci siete??? Nessuno risponde!"))
    assert again.status_code == 200  # redelivery: nothing new
    assert count_rows(database, "messages") == 1


async def test_whatsapp_and_a_phone_call_are_the_same_customer(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await post_meta(client, whatsapp("wamid.1", "Buongiorno, ho perso la carta!"))
    await client.post(
        "/v1/contacts",
        json={
            "gateway": "pbx",
            "message_id": "call-1",
            "channel": "voice",
            "customer": {"phone": "333 123 4567"},
        },
    )
    with __import__("sqlite3").connect(tmp_path / "centralino.db") as db:
        customers = {row[0] for row in db.execute("select customer_id from contacts")}
    assert len(customers) == 1


async def test_public_comment_is_flagged_public_and_routed_fast(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await post_meta(
        client,
        instagram_comment(
            "1789001", "Servizio vergognoso, ancora nessuna risposta dal vostro supporto"
        ),
    )
    queues = {
        q["queue"]: q for q in (await client.get("/v1/queues", headers=admin_headers())).json()
    }
    assert queues["customer_care"]["waiting"] == {"social": 1}
    waiting = (
        await client.get("/v1/queues/customer_care/contacts", headers=admin_headers())
    ).json()
    assert waiting[0]["rule"] == "public-social-post"


async def test_meta_bad_signature_malformed_and_unknown_are_refused(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    payload = messenger("m_9", "ciao")
    assert (await post_meta(client, payload, signature=None)).status_code == 401
    forged = meta_signature(json.dumps(payload).encode(), "another-secret")
    assert (await post_meta(client, payload, signature=forged)).status_code == 403
    body = b'{"object": "page", "entry": [{"messaging": [{"message": {"text": "x"}}]}]}'
    broken = await client.post(
        "/v1/channels/meta/webhook",
        content=body,
        headers={"X-Hub-Signature-256": meta_signature(body)},
    )
    assert broken.status_code == 422 and "sender.id" in broken.json()["detail"]
    garbage = b"not json"
    bad_json = await client.post(
        "/v1/channels/meta/webhook",
        content=garbage,
        headers={"X-Hub-Signature-256": meta_signature(garbage)},
    )
    assert bad_json.status_code == 422
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_x_crc_challenge(client: httpx.AsyncClient) -> None:
    reply = await client.get("/v1/channels/x/webhook", params={"crc_token": "abc123"})
    expected = base64.b64encode(
        hmac.new(X_SECRET.encode(), b"abc123", hashlib.sha256).digest()
    ).decode()
    assert reply.json() == {"response_token": f"sha256={expected}"}
    assert (await client.get("/v1/channels/x/webhook")).status_code == 422


async def test_x_direct_message_and_mention(client: httpx.AsyncClient, tmp_path: Path) -> None:
    payload = {
        "for_user_id": "900",
        "direct_message_events": [
            {
                "type": "message_create",
                "id": "1690000000000000001",
                "created_timestamp": "1732350000000",
                "message_create": {
                    "target": {"recipient_id": "900"},
                    "sender_id": "4242",
                    "message_data": {"text": "My card was stolen, help!"},
                },
            },
            {
                "type": "message_create",
                "id": "1690000000000000002",
                "created_timestamp": "1732350001000",
                "message_create": {
                    "target": {"recipient_id": "4242"},
                    "sender_id": "900",
                    "message_data": {"text": "our own reply"},
                },
            },
        ],
        "users": {"4242": {"id": "4242", "name": "Sam Green", "screen_name": "samg"}},
        "tweet_create_events": [
            {
                "id_str": "1690000000000000003",
                "text": "@acme worst service ever",
                "user": {"id_str": "5151", "name": "Lee", "screen_name": "lee"},
            }
        ],
    }
    body = json.dumps(payload).encode()
    forged = await client.post(
        "/v1/channels/x/webhook",
        content=body,
        headers={"x-twitter-webhooks-signature": "sha256=AAAA"},
    )
    assert forged.status_code == 403
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0
    ok = await client.post(
        "/v1/channels/x/webhook",
        content=body,
        headers={"x-twitter-webhooks-signature": x_signature(body)},
    )
    assert ok.status_code == 200
    assert count_rows(tmp_path / "centralino.db", "contacts") == 2  # our own DM skipped
    queues = {
        q["queue"]: q for q in (await client.get("/v1/queues", headers=admin_headers())).json()
    }
    assert queues["cards"]["waiting"] == {"social": 1}  # the stolen card, by intent
    assert queues["customer_care"]["waiting"] == {"social": 1}  # the public mention
