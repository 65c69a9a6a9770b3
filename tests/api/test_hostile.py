"""Hostile and broken input: always a clear 4xx, never a 5xx, nothing stored."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.live import (
    REPO,
    Captured,
    ChatCustomer,
    ThreadServer,
    admin_headers,
    contact_body,
    count_rows,
    online_desktop,
)

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
UNKNOWN_FIELDS = {f"u{i}": i for i in range(10_000)}  # ~110 KB, under the size limit
MAX_ERROR_BODY = 8 * 1024


def contact_json(extra: str) -> bytes:
    """A valid contact body with one raw JSON member added (``extra`` is not re-encoded)."""
    return ('{"gateway": "g", "message_id": "m", "channel": "chat", ' + extra + "}").encode()


def contact(**fields: Any) -> dict[str, Any]:
    """Request arguments for a contact with these fields changed."""
    return {"json": {"gateway": "g", "message_id": "n", "channel": "chat", **fields}}


CASES: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", "/v1/contacts", {"content": b"[]", "headers": JSON}, 422),
    ("POST", "/v1/contacts", {"content": b'"just a string"', "headers": JSON}, 422),
    ("POST", "/v1/contacts", {"content": b"\xff\xfe\x00", "headers": JSON}, 400),
    ("POST", "/v1/contacts", {"content": b'{"a": ' * 5000, "headers": JSON}, 400),
    ("POST", "/v1/contacts", {"data": {"gateway": "g"}}, 422),
    ("POST", "/v1/contacts", contact(message_id="x" * 5000), 422),
    ("POST", "/v1/contacts", contact(message_id="n1", attributes={"a": {"nested": 1}}), 422),
    ("POST", "/v1/contacts", contact(message_id="n2", urgency="high"), 422),
    ("POST", "/v1/contacts", contact(gateway="g; DROP TABLE contacts", message_id="n3"), 422),
    ("POST", "/v1/contacts", contact(message_id="n4", customer={"phone": "+999999999999999"}), 422),
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


# issue 13: non-finite numbers, lone surrogates, deep nesting, unbounded handles and
# attributes, oversized error bodies: name -> (request body, status); POST /v1/contacts
# unless the body is a (path, body) pair
MALFORMED: dict[str, tuple[Any, int]] = {
    "nan-urgency": (contact_json('"urgency": NaN'), 400),
    "infinity-urgency": (contact_json('"urgency": Infinity'), 400),
    "minus-infinity-sentiment": (contact_json('"sentiment": -Infinity'), 400),
    "nan-attribute": (contact_json('"attributes": {"x": NaN}'), 400),
    "lone-high-surrogate": (contact_json('"text": "\\ud800"'), 400),
    "lone-low-surrogate": (contact_json('"text": "ok \\udfff ok"'), 400),
    "nul-in-text": (contact_json('"text": "a\\u0000b"'), 400),  # PostgreSQL: 503 forever
    "30000-deep-array": (b"[" * 30000 + b"]" * 30000, 400),
    "nan-message-sentiment": (("/v1/contacts/x/messages", b'{"text": "a", "sentiment": NaN}'), 400),
    "20000-char-handle": ({"customer": {"handles": {"instagram": "x" * 20000}}}, 422),
    "5000-char-platform": ({"customer": {"handles": {"p" * 5000: "1"}}}, 422),
    "20000-char-attribute": ({"attributes": {"note": "x" * 20000}}, 422),
    "10000-unknown-fields": (UNKNOWN_FIELDS, 422),
    "infinity-transcript-sentiment": (
        ("/v1/channels/voice/transcripts", b'{"call_id": "c", "text": "a", "sentiment": 1e999}'),
        400,
    ),
}


def malformed_request(body: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(body, tuple):
        return body[0], {"content": body[1], "headers": JSON}
    if isinstance(body, bytes):
        return "/v1/contacts", {"content": body, "headers": JSON}
    fields = {"gateway": "g", "message_id": "m", "channel": "chat", **body}
    return "/v1/contacts", {"json": fields}


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
    assert reply.status_code == status, reply.text[:2000]
    assert reply.json()["detail"]  # says what is wrong
    assert len(reply.content) <= MAX_ERROR_BODY  # a capped, readable answer
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


# ------------------------------------------------------------ issue 13, finding by finding


async def test_chat_visitor_cannot_pose_as_an_existing_customer(
    server: ThreadServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Finding 1: a chat start claiming Vera's email neither joins her customer nor shows
    her history; the claim is shown as unverified."""
    vera = await client.post(
        "/v1/contacts",
        json={
            "gateway": "bank",
            "message_id": "vera-1",
            "channel": "email",
            "customer": {"email": "vera@example.com"},
            "text": "mi hanno rubato la carta",
        },
    )
    assert vera.status_code == 202
    stored_vera = await client.get(
        f"/v1/contacts/{vera.json()['contact_id']}", headers=admin_headers()
    )
    vera_id = stored_vera.json()["customer_id"]
    database = tmp_path / "centralino.db"
    vera_identities = count_rows(database, "identities", f"customer_id = '{vera_id}'")

    impostor = ChatCustomer(server)
    started = await impostor.start("ciao, sono io", email="vera@example.com", language="it")
    assert started["type"] == "started"
    chat = await client.get(f"/v1/contacts/{started['contact_id']}", headers=admin_headers())
    assert chat.json()["customer_id"] != vera_id
    explained = await client.get(
        f"/v1/contacts/{started['contact_id']}/explain", headers=admin_headers()
    )
    assert explained.json()["triage"]["history"] == []  # none of Vera's contacts
    customer = chat.json()["customer"]
    assert customer["verified"] is False and customer["email"] == "vera@example.com"
    assert count_rows(database, "identities", f"customer_id = '{vera_id}'") == vera_identities
    await impostor.ws.close()


async def test_rate_limit_is_not_keyed_on_an_unverified_header(tmp_path: Path) -> None:
    """Finding 2: a new bogus Authorization header on each request is the same caller."""
    server = ThreadServer(
        tmp_path / "r.db", gateway_rate=5, gateway_burst=10, gateway_token="real"
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            codes = [
                (
                    await http.post(
                        "/v1/contacts",
                        json=contact_body(f"b{i}"),
                        headers={"Authorization": f"Bearer bogus-{i}"},
                    )
                ).status_code
                for i in range(30)
            ]
        assert codes.count(429) >= 15, codes  # 10 of burst (+ a few by the rate), then 429
        assert set(codes) <= {403, 429}
    finally:
        server.stop()


async def test_rate_limit_is_not_keyed_on_a_forwarded_for_header(tmp_path: Path) -> None:
    """Finding 2, again: X-Forwarded-For counts only from a configured trusted proxy (not
    even from 127.0.0.1, which uvicorn would otherwise believe)."""
    server = ThreadServer(tmp_path / "x.db", gateway_rate=0.01, gateway_burst=3).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            codes = [
                (
                    await http.post(
                        "/v1/contacts",
                        json=contact_body(f"x{i}"),
                        headers={"X-Forwarded-For": f"198.51.100.{i}"},
                    )
                ).status_code
                for i in range(6)
            ]
        assert codes == [202, 202, 202, 429, 429, 429]
    finally:
        server.stop()


async def test_chat_starts_are_limited_per_address(tmp_path: Path) -> None:
    """Finding 3a: one address cannot open chats without end."""
    server = ThreadServer(
        tmp_path / "c.db", config=SERVER_CONFIG, chat_start_rate=0.01, chat_start_burst=3
    ).start()
    try:
        replies = []
        for _ in range(6):
            customer = ChatCustomer(server)
            replies.append(await customer.start("ciao", language="it"))
            await customer.ws.close()
        kinds = [reply.get("code", reply["type"]) for reply in replies]
        assert kinds[:3] == ["started"] * 3 and kinds[3:] == ["rate_limited"] * 3, kinds
        assert count_rows(tmp_path / "c.db", "contacts") == 3
        assert count_rows(tmp_path / "c.db", "customers") == 3
    finally:
        server.stop()


async def test_chat_messages_are_limited_per_chat(tmp_path: Path) -> None:
    """Finding 3b: a flood of messages in one chat is refused, the chat goes on."""
    server = ThreadServer(
        tmp_path / "m.db", config=SERVER_CONFIG, chat_message_rate=0.01, chat_message_burst=5
    ).start()
    try:
        customer = ChatCustomer(server)
        started = await customer.start("ciao", language="it")
        for i in range(20):
            await customer.say(f"messaggio {i}")
        limited = await customer.next("error")
        assert limited["code"] == "rate_limited"
        await customer.ws.send(json.dumps({"type": "leave"}))
        await customer.ws.wait_closed()
        assert (
            count_rows(tmp_path / "m.db", "messages", f"contact_id = '{started['contact_id']}'")
            <= 5
        )
    finally:
        server.stop()


async def test_access_log_has_no_query_secrets_and_masks_addresses(tmp_path: Path) -> None:
    """Finding 4: the webhook token in a query string and the client address stay out."""
    server = ThreadServer(
        tmp_path / "a.db", log_level="info", email_webhook_token="s3cret-token"
    ).start()
    captured = Captured()
    logging.getLogger("uvicorn.access").addHandler(captured)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            reply = await http.post(
                "/v1/channels/email/webhook?token=s3cret-token&x=1",
                data={"from": "a@example.it", "text": "ciao"},
            )
            assert reply.status_code < 300, reply.text
            await http.get("/healthz")
        assert any("/v1/channels/email/webhook" in line for line in captured.lines)
        text = "\n".join(captured.lines)
        assert "s3cret-token" not in text
        assert "127.0.0.1" not in text
    finally:
        logging.getLogger("uvicorn.access").removeHandler(captured)
        server.stop()


async def test_email_webhook_token_in_a_header_any_case(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Finding 8c: ``Authorization: bearer`` (lower case) is a bearer token too."""
    reply = await client.post(
        "/v1/channels/email/webhook",
        data={"from": "a@example.it", "text": "ciao"},
        headers={"Authorization": "bearer e"},
    )
    assert reply.status_code < 300, reply.text
    assert count_rows(tmp_path / "centralino.db", "contacts") == 1


async def test_meta_webhook_deep_nesting_with_a_valid_signature(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """Finding 5: correctly signed but 5,000 levels deep: 400, not 500."""
    body = b'{"object": "page", "entry": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    signature = "sha256=" + hmac.new(b"m", body, hashlib.sha256).hexdigest()
    reply = await client.post(
        "/v1/channels/meta/webhook",
        content=body,
        headers={"X-Hub-Signature-256": signature, **JSON},
    )
    assert reply.status_code == 400, reply.text[:500]
    assert count_rows(tmp_path / "centralino.db", "contacts") == 0


DEEP_FRAMES = [
    "[" * 30000,
    "[" * 30000 + "]" * 30000,
    '{"type": "ping", "ref": "\\ud800"}',
    '{"type": "ping", "ref": NaN}',
]


@pytest.mark.parametrize("frame", DEEP_FRAMES, ids=["open", "closed", "surrogate", "nan"])
async def test_desktop_frame_hostile_json_keeps_the_session(
    server: ThreadServer, client: httpx.AsyncClient, frame: str
) -> None:
    """Finding 5: a hostile desktop frame gets an error frame; the agent stays online."""
    desk = await online_desktop(server, client, "ada", skills={"billing": 5})
    await desk.ws.send(frame)
    error = await desk.next_event("error")
    assert error["code"] == "bad_message"
    assert (await desk.request("ping"))["type"] == "pong"
    agent = await client.get("/v1/agents/ada", headers=admin_headers())
    assert agent.json()["presence"] == "available"
    await desk.close()


@pytest.mark.parametrize("frame", DEEP_FRAMES, ids=["open", "closed", "surrogate", "nan"])
async def test_chat_frame_hostile_json_keeps_the_session(
    server: ThreadServer, tmp_path: Path, frame: str
) -> None:
    """Finding 5: the same for a customer's chat socket; nothing of it is stored."""
    customer = ChatCustomer(server)
    started = await customer.start("ciao", language="it")
    await customer.ws.send(frame)
    assert (await customer.next("error"))["code"] == "bad_message"
    await customer.say("ancora qui")
    await customer.ws.send(json.dumps({"type": "leave"}))
    await customer.ws.wait_closed()
    where = f"contact_id = '{started['contact_id']}'"
    assert count_rows(tmp_path / "centralino.db", "messages", where) == 1


@pytest.mark.parametrize("page", ["/desktop", "/wallboard", "/chat"])
async def test_pages_send_security_headers(client: httpx.AsyncClient, page: str) -> None:
    """Finding 6: CSP, no framing of the desktop and wallboard, nosniff, referrer policy."""
    reply = await client.get(page)
    assert reply.status_code == 200
    csp = reply.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" in csp
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    if page == "/chat":
        assert "frame-ancestors *" in csp  # the default chat origins: any site may embed
    else:
        assert "frame-ancestors 'none'" in csp
        assert reply.headers["x-frame-options"] == "DENY"


async def test_chat_widget_may_be_framed_only_by_the_chat_origins(tmp_path: Path) -> None:
    server = ThreadServer(
        tmp_path / "f.db", chat_origins="https://www.acme.it, https://shop.acme.it"
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            csp = (await http.get("/chat")).headers["content-security-policy"]
        assert "frame-ancestors https://www.acme.it https://shop.acme.it" in csp
    finally:
        server.stop()


async def test_a_slow_body_is_timed_out(tmp_path: Path) -> None:
    """Finding 7: a client that stops sending its body gets 408 and is closed."""
    server = ThreadServer(tmp_path / "s.db", body_timeout=0.5).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"gateway": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 20)  # until the server closes
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        writer.close()
        assert count_rows(tmp_path / "s.db", "contacts") == 0
    finally:
        server.stop()


@pytest.mark.parametrize(("body", "status"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_input_gets_a_clear_4xx(
    client: httpx.AsyncClient, tmp_path: Path, body: Any, status: int
) -> None:
    """Findings 5 and 8: never a 500, a short answer that names the problem, nothing stored."""
    path, request_args = malformed_request(body)
    await test_hostile_input_gets_a_clear_4xx(client, tmp_path, "POST", path, request_args, status)


async def test_slow_header_senders_cannot_hold_more_than_max_connections(
    tmp_path: Path,
) -> None:
    """Finding 7: clients trickling their headers hold at most max_connections; beyond it
    the server answers 503 at once (header timeouts belong to the reverse proxy)."""
    server = ThreadServer(tmp_path / "h.db", max_connections=4).start()
    trickling = []
    try:
        for _ in range(3):
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            await writer.drain()
            trickling.append(writer)
        async with httpx.AsyncClient(base_url=server.url) as http:
            for _ in range(500):  # until the server has counted every trickling socket
                reply = await http.get("/healthz")
                if reply.status_code == 503:
                    break
                await asyncio.sleep(0.01)
        assert reply.status_code == 503
    finally:
        for writer in trickling:
            writer.close()
        server.stop()


@pytest.mark.parametrize(
    "frame", [*DEEP_FRAMES[:2], '{"token": "\\ud800"}'], ids=["open", "closed", "surrogate"]
)
async def test_wallboard_login_with_hostile_json_is_refused_cleanly(
    server: ThreadServer, frame: str
) -> None:
    """Finding 5, the third websocket: an unauthorized frame and a clean close (4401)."""
    async with websockets.connect(server.ws_url.replace("/v1/desktop", "/v1/wallboard")) as ws:
        await ws.send(frame)
        assert json.loads(await ws.recv())["code"] == "unauthorized"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
