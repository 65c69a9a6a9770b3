"""Hostile and broken input: always a clear 4xx, never a 5xx, nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import REPO, admin_headers, count_rows

SERVER_CONFIG = (REPO / "config.yaml").read_text()


def SERVER_SETTINGS() -> dict[str, Any]:  # read by the conftest fixture
    return {
        "twilio_auth_token": "t",
        "meta_app_secret": "m",
        "meta_verify_token": "v",
        "x_consumer_secret": "x",
        "email_webhook_token": "e",
    }


JSON = {"content-type": "application/json"}
CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/v1/contacts", {"content": b"[]", "headers": JSON}, 422),
    ("POST", "/v1/contacts", {"content": b'"just a string"', "headers": JSON}, 422),
    ("POST", "/v1/contacts", {"content": b"\xff\xfe\x00", "headers": JSON}, 400),
    ("POST", "/v1/contacts", {"content": b'{"a": ' * 5000, "headers": JSON}, 400),
    ("POST", "/v1/contacts", {"data": {"gateway": "g"}}, 422),
    (
        "POST",
        "/v1/contacts",
        {"json": {"gateway": "g", "message_id": "x" * 5000, "channel": "chat"}},
        422,
    ),
    (
        "POST",
        "/v1/contacts",
        {
            "json": {
                "gateway": "g",
                "message_id": "n1",
                "channel": "chat",
                "attributes": {"a": {"nested": 1}},
            }
        },
        422,
    ),
    (
        "POST",
        "/v1/contacts",
        {"json": {"gateway": "g", "message_id": "n2", "channel": "chat", "urgency": "high"}},
        422,
    ),
    (
        "POST",
        "/v1/contacts",
        {"json": {"gateway": "g; DROP TABLE contacts", "message_id": "n3", "channel": "chat"}},
        422,
    ),
    (
        "POST",
        "/v1/contacts",
        {
            "json": {
                "gateway": "g",
                "message_id": "n4",
                "channel": "chat",
                "customer": {"phone": "+999999999999999"},
            }
        },
        422,
    ),
    ("POST", "/v1/contacts/x/messages", {"json": {"text": ""}}, 422),
    ("POST", "/v1/contacts/x/feedback", {"json": {"csat": "five"}}, 422),
    (
        "POST",
        "/v1/channels/twilio/webhook",
        {
            "content": b"--x\r\nbroken",
            "headers": {
                "content-type": "multipart/form-data; boundary=x",
                "X-Twilio-Signature": "a",
            },
        },
        403,
    ),
    (
        "POST",
        "/v1/channels/meta/webhook",
        {"content": b"{}", "headers": {"X-Hub-Signature-256": "sha256=00"}},
        403,
    ),
    ("GET", "/v1/channels/meta/webhook", {"params": {"hub.mode": "subscribe"}}, 422),
    ("POST", "/v1/channels/email/webhook?token=e", {"data": {"from": "\xff\xfe"}}, 422),
    (
        "POST",
        "/v1/channels/email/webhook?token=e",
        {
            "data": {
                "email": (
                    'From: a@b.it\r\nContent-Type: multipart/mixed; boundary="q"\r\n\r\n--q\r\n'
                    "Content-Type: text/plain; charset=unknown-8bit\r\n\r\nciao\r\n--q--"
                )
            }
        },
        422,
    ),
    ("POST", "/v1/channels/nope/webhook", {"json": {}}, 404),
    ("PUT", "/v1/agents/%00", {"json": {}, "headers": admin_headers()}, 422),
    (
        "PUT",
        "/v1/agents/a1",
        {"json": {"skills": {"billing": "expert"}}, "headers": admin_headers()},
        422,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "request_args", "status"),
    CASES,
    ids=[f"{m} {p[:30]} -> {s}" for m, p, _, s in CASES],
)
async def test_hostile_input_gets_a_clear_4xx(
    client: httpx.AsyncClient,
    tmp_path: Path,
    method: str,
    path: str,
    request_args: dict[str, Any],
    status: int,
) -> None:
    reply = await client.request(method, path, **request_args)
    assert reply.status_code == status, reply.text
    assert reply.json()["detail"]  # says what is wrong
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


async def test_cel_sees_injected_text_as_data(client: httpx.AsyncClient) -> None:
    """A rule condition reads fields as values: text shaped like CEL changes nothing."""
    reply = await client.post(
        "/v1/contacts",
        json={
            "gateway": "g",
            "message_id": "cel",
            "channel": "chat",
            "intent": 'billing" || true || "',
            "text": '") || contact.intent == "lost_card',
        },
    )
    assert reply.status_code == 202
    assert reply.json()["queue"] == "customer_care"  # no rule matched a bogus intent
