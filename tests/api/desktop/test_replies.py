"""Replies from the desktop on every channel, end to end: the customer's message comes in
through its real webhook, the agent answers over the desktop websocket, the reply reaches a
local stand-in of the provider, and the agent sees its status; the customer's answer
threads back onto the contact."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from tests.live import REPO, Desktop, ThreadServer, count_rows, create_agent, online_desktop
from tests.providers import (
    META_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    X_TOKEN,
    Answer,
    FakeProviders,
    Relay,
)

EMAIL_TOKEN = "email-webhook-token"
APP_SECRET = "meta-app-secret"
X_SECRET = "x-consumer-secret"
AGENT = {
    "skills": {"billing": 5, "cards": 5, "empathy": 5, "customer_care": 5},
    "languages": ["it", "en"],
}


@pytest.fixture
def server(tmp_path: Path, providers: FakeProviders, relay: Relay) -> Iterator[ThreadServer]:
    running = ThreadServer(
        tmp_path / "centralino.db",
        config=(REPO / "config.yaml").read_text(),
        email_webhook_token=EMAIL_TOKEN,
        reply_smtp_host="127.0.0.1",
        reply_smtp_port=relay.port,
        reply_smtp_starttls=False,
        reply_email_from="Assistenza <assistenza@acme.it>",
        meta_app_secret=APP_SECRET,
        meta_verify_token="verify",
        meta_access_token=META_TOKEN,
        meta_graph_url=providers.url + "/v21.0",
        meta_page_id="PAGE1",
        meta_whatsapp_phone_id="PHONE1",
        twilio_auth_token=TWILIO_TOKEN,
        twilio_account_sid=TWILIO_SID,
        twilio_api_url=providers.url,
        twilio_sms_from="+15005550006",
        reply_timeout=1.0,
        reply_retry_delay=0.05,
    ).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(server: ThreadServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http


def mail(message_id: str, text: str, in_reply_to: str = "", pdf: bytes = b"") -> str:
    message = EmailMessage()
    message["From"] = "Mario Rossi <mario@example.it>"
    message["To"] = "assistenza@acme.it"
    message["Subject"] = "Bolletta di ottobre" if not in_reply_to else "Re: Bolletta di ottobre"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(text)
    if pdf:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="f.pdf")
    return message.as_string()


async def post_mail(client: httpx.AsyncClient, raw: str) -> None:
    reply = await client.post(
        f"/v1/channels/email/webhook?token={EMAIL_TOKEN}", data={"email": raw}
    )
    assert reply.status_code == 200, reply.text


async def take(desk: Desktop) -> str:
    offer = await desk.next_event("offer", timeout=10)
    assert (await desk.request("accept", offer_id=offer["offer_id"]))["type"] == "ack"
    contact_id: str = offer["contact"]["contact_id"]
    return contact_id


async def final_status(desk: Desktop, reply_id: str) -> dict[str, Any]:
    while True:
        event = await desk.next_event("reply_status", timeout=15)
        if event["reply_id"] == reply_id and event["status"] in ("sent", "failed", "unknown"):
            return event


async def test_email_reply_is_threaded_and_the_answer_comes_back(
    server: ThreadServer, client: httpx.AsyncClient, relay: Relay, tmp_path: Path
) -> None:
    await post_mail(client, mail("<e1@example.it>", "La bolletta di ottobre è sbagliata"))
    desk = await online_desktop(server, client, "anna", **AGENT)
    contact_id = await take(desk)
    ack = await desk.request(
        "message", contact_id=contact_id, text="Gentile Mario, controllo subito.", reply_key="k1"
    )
    assert ack["type"] == "ack" and ack["reply"]["status"] == "pending", ack
    reply_id = ack["reply"]["reply_id"]
    # the ack promised a committed row
    assert count_rows(tmp_path / "centralino.db", "replies", f"id = '{reply_id}'") == 1
    sent = await final_status(desk, reply_id)
    assert sent["status"] == "sent" and sent["platform"] == "email"
    (out,) = relay.handler.messages
    assert out["Subject"] == "Re: Bolletta di ottobre"
    assert out["In-Reply-To"] == "<e1@example.it>"
    assert out["To"] == "mario@example.it"
    assert out["Message-ID"] == sent["message_id"]
    again = await desk.request(
        "message", contact_id=contact_id, text="Gentile Mario, controllo subito.", reply_key="k1"
    )
    assert again["duplicate"] is True and again["reply"]["reply_id"] == reply_id
    # the customer answers our reply, with an attachment: same contact, same agent
    await post_mail(
        client,
        mail(
            "<e2@example.it>", "Ecco la fattura", in_reply_to=sent["message_id"], pdf=b"%PDF" * 10
        ),
    )
    message = await desk.next_event("message")
    assert message["contact_id"] == contact_id and message["text"] == "Ecco la fattura"
    assert message["attachments"] == [
        {"filename": "f.pdf", "content_type": "application/pdf", "size": 40}
    ]
    assert count_rows(tmp_path / "centralino.db", "contacts") == 1
    assert len(relay.handler.messages) == 1
    await desk.close()


def whatsapp(wamid: str, text: str) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "390212345678", "phone_number_id": "PHONE1"},
        "contacts": [{"profile": {"name": "Mario"}, "wa_id": "393331234567"}],
        "messages": [
            {
                "from": "393331234567",
                "id": wamid,
                "timestamp": "1732350000",
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"field": "messages", "value": value}]}],
    }


async def post_meta(client: httpx.AsyncClient, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    reply = await client.post(
        "/v1/channels/meta/webhook",
        content=body,
        headers={"content-type": "application/json", "X-Hub-Signature-256": signature},
    )
    assert reply.status_code == 200, reply.text


async def test_whatsapp_reply_sent_failed_and_unknown(
    server: ThreadServer, client: httpx.AsyncClient, providers: FakeProviders
) -> None:
    await post_meta(client, whatsapp("wamid.in1", "La mia bolletta è sbagliata"))
    desk = await online_desktop(server, client, "anna", **AGENT)
    contact_id = await take(desk)
    ack = await desk.request("message", contact_id=contact_id, text="Ciao Mario, vedo subito")
    sent = await final_status(desk, ack["reply"]["reply_id"])
    assert sent["status"] == "sent" and sent["provider_id"].startswith("wamid.")
    assert providers.of("meta")[0].path == "/PHONE1/messages"
    assert providers.of("meta")[0].body["to"] == "393331234567"
    providers.answer(
        "meta",
        Answer(400, {"error": {"message": "(#131026) Message undeliverable", "code": 131026}}),
        Answer(hang=3.0),
    )
    ack = await desk.request("message", contact_id=contact_id, text="secondo")
    failed = await final_status(desk, ack["reply"]["reply_id"])
    assert failed["status"] == "failed" and "Message undeliverable" in failed["reason"]
    ack = await desk.request("message", contact_id=contact_id, text="terzo")
    unknown = await final_status(desk, ack["reply"]["reply_id"])
    assert unknown["status"] == "unknown"
    assert len(providers.of("meta")) == 3  # the timed-out one was not sent again
    metrics = (await client.get("/metrics")).text
    for status in ("sent", "failed", "unknown"):
        assert f'centralino_replies_total{{platform="whatsapp",status="{status}"}} 1.0' in metrics
    template = await desk.request(
        "message", contact_id=contact_id, text="x", template={"name": "t", "language": "it"}
    )
    assert template["type"] == "ack"  # inside the window a template is allowed too
    await desk.close()


async def post_sms(client: httpx.AsyncClient, server: ThreadServer, **form: str) -> None:
    url = f"{server.url}/v1/channels/twilio_sms/webhook"
    fields = {
        "MessageSid": "SM1",
        "AccountSid": TWILIO_SID,
        "From": "+393331234567",
        "To": "+15005550006",
        "Body": "Ho perso la carta di credito",
        "NumMedia": "0",
        **form,
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, fields)
    reply = await client.post(url, data=fields, headers={"X-Twilio-Signature": signature})
    assert reply.status_code == 200, reply.text


async def test_sms_reply_then_stop_is_honoured(
    server: ThreadServer, client: httpx.AsyncClient, providers: FakeProviders
) -> None:
    await post_sms(client, server)
    desk = await online_desktop(server, client, "anna", **AGENT)
    contact_id = await take(desk)
    ack = await desk.request("message", contact_id=contact_id, text="La blocchiamo subito")
    assert (await final_status(desk, ack["reply"]["reply_id"]))["status"] == "sent"
    assert providers.of("twilio")[0].body == {
        "To": "+393331234567",
        "From": "+15005550006",
        "Body": "La blocchiamo subito",
    }
    await post_sms(
        client,
        server,
        MessageSid="SM2",
        Body="ecco la foto",
        NumMedia="1",
        MediaContentType0="image/jpeg",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC/Messages/SM2/Media/ME1",
    )
    message = await desk.next_event("message")
    assert message["attachments"][0]["content_type"] == "image/jpeg"
    await post_sms(client, server, MessageSid="SM3", Body="STOP")
    refused = await desk.request("message", contact_id=contact_id, text="Ancora lì?")
    assert refused["type"] == "error" and refused["code"] == "opted_out"
    await post_sms(client, server, MessageSid="SM4", Body="start")
    ack = await desk.request("message", contact_id=contact_id, text="Bentornato")
    assert (await final_status(desk, ack["reply"]["reply_id"]))["status"] == "sent"
    assert len(providers.of("twilio")) == 2
    await desk.close()


async def test_voice_offer_carries_the_call_and_its_transcript(
    server: ThreadServer, client: httpx.AsyncClient
) -> None:
    url = f"{server.url}/v1/channels/twilio/webhook"
    form = {
        "CallSid": "CA9",
        "From": "+393331234567",
        "To": "+390212345678",
        "CallStatus": "ringing",
        "Direction": "inbound",
        "CallerCountry": "IT",
    }
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    assert (await client.post(url, data=form, headers={"X-Twilio-Signature": signature})).is_success
    segment = await client.post(
        "/v1/channels/voice/transcripts",
        json={"call_id": "CA9", "text": "ho perso la carta, è urgente", "segment_id": "s1"},
    )
    assert segment.status_code == 200, segment.text
    desk = await online_desktop(server, client, "anna", **AGENT)
    offer = await desk.next_event("offer", timeout=10)
    call = offer["contact"]["call"]
    assert call == {
        "call_id": "CA9",
        "from": "+393331234567",
        "to": "+390212345678",
        "direction": "inbound",
        "country": "IT",
    }
    assert [s["text"] for s in offer["contact"]["transcript"]] == ["ho perso la carta, è urgente"]
    await desk.request("accept", offer_id=offer["offer_id"])
    refused = await desk.request(
        "message", contact_id=call and offer["contact"]["contact_id"], text="x"
    )
    assert refused["code"] == "not_deliverable" and "phone" in refused["message"]
    await desk.close()


def settings_for(providers: FakeProviders, relay: Relay, **more: Any) -> dict[str, Any]:
    return {
        "meta_app_secret": APP_SECRET,
        "meta_verify_token": "verify",
        "meta_access_token": META_TOKEN,
        "meta_graph_url": providers.url + "/v21.0",
        "meta_whatsapp_phone_id": "PHONE1",
        "x_consumer_secret": X_SECRET,
        "x_access_token": X_TOKEN,
        "x_api_url": providers.url,
        **more,
    }


async def test_x_direct_message_reply(
    tmp_path: Path, providers: FakeProviders, relay: Relay
) -> None:
    server = ThreadServer(
        tmp_path / "x.db",
        config=(REPO / "config.yaml").read_text(),
        **settings_for(providers, relay),
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            payload = {
                "for_user_id": "999",
                "users": {"777": {"id": "777", "name": "Mario"}},
                "direct_message_events": [
                    {
                        "type": "message_create",
                        "id": "dm1",
                        "message_create": {
                            "sender_id": "777",
                            "target": {"recipient_id": "999"},
                            "message_data": {"text": "La bolletta è sbagliata"},
                        },
                    }
                ],
            }
            body = json.dumps(payload).encode()
            digest = hmac.new(X_SECRET.encode(), body, hashlib.sha256).digest()
            posted = await client.post(
                "/v1/channels/x/webhook",
                content=body,
                headers={
                    "content-type": "application/json",
                    "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
                },
            )
            assert posted.status_code == 200, posted.text
            desk = await online_desktop(server, client, "anna", **AGENT)
            contact_id = await take(desk)
            ack = await desk.request("message", contact_id=contact_id, text="Ciao Mario")
            sent = await final_status(desk, ack["reply"]["reply_id"])
            assert sent["status"] == "sent" and sent["platform"] == "x"
            await desk.close()
    finally:
        server.stop()
    (dm,) = providers.of("x")
    assert dm.path == "/with/777/messages" and dm.body == {"text": "Ciao Mario"}


async def test_a_restart_mid_send_shows_unknown_and_never_resends(
    tmp_path: Path, providers: FakeProviders, relay: Relay
) -> None:
    database = tmp_path / "restart.db"
    settings = settings_for(providers, relay, reply_timeout=30.0)
    config = (REPO / "config.yaml").read_text()
    providers.answer("meta", Answer(hang=4.0))  # the provider takes its time to answer
    first = ThreadServer(database, config=config, **settings).start()
    try:
        async with httpx.AsyncClient(base_url=first.url, timeout=10) as client:
            await post_meta(client, whatsapp("wamid.in9", "La mia bolletta è sbagliata"))
            token = await create_agent(client, "anna", **AGENT)
            desk = Desktop(first.ws_url, token)
            await desk.connect(presence="available")
            contact_id = await take(desk)
            ack = await desk.request("message", contact_id=contact_id, text="Ci penso io")
            reply_id = ack["reply"]["reply_id"]
            deadline = asyncio.get_running_loop().time() + 15
            while not providers.of("meta"):  # handed to the provider, no answer yet
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
            await desk.close()
    finally:
        first.stop()  # stops while the provider has not answered
    second = ThreadServer(database, config=config, **settings).start()
    try:
        async with httpx.AsyncClient(base_url=second.url, timeout=10) as client:
            desk = Desktop(second.ws_url, token)
            welcome = await desk.connect()
            (held,) = welcome["state"]["contacts"]
            (reply,) = held["replies"]
            assert reply["reply_id"] == reply_id and reply["status"] == "unknown"
            assert "stopped while sending" in reply["reason"]
            await desk.close()
    finally:
        second.stop()
    assert len(providers.of("meta")) == 1


async def test_the_desktop_page_replies_by_email_and_shows_each_status(
    server: ThreadServer, client: httpx.AsyncClient, relay: Relay, browser: Any, tmp_path: Path
) -> None:
    await post_mail(client, mail("<p1@example.it>", "La bolletta di ottobre è sbagliata"))
    token = await create_agent(client, "giulia", name="Giulia", **AGENT)
    page = await browser.new_page()
    await page.goto(f"{server.url}/desktop")
    await page.fill("#token", token)
    await page.click("#login-button")
    offer = page.locator(".offer", has_text="Bolletta di ottobre")
    await offer.wait_for()
    await offer.locator(".accept").click()
    card = page.locator(".contact", has_text="Bolletta di ottobre")
    await card.wait_for()
    await card.locator(".reply-text").fill("Gentile Mario, la correggiamo oggi.")
    await card.locator(".send").click()
    await page.locator(".reply[data-status='sent']", has_text="correggiamo").wait_for()
    assert relay.handler.messages[0]["Subject"] == "Re: Bolletta di ottobre"
    relay.handler.rcpt_answer = "550 5.1.1 mailbox unavailable"
    await card.locator(".reply-text").fill("Seconda risposta")
    await card.locator(".send").click()
    failed = page.locator(".reply[data-status='failed']", has_text="Seconda risposta")
    await failed.wait_for()
    assert "mailbox unavailable" in await failed.inner_text()
    await page.screenshot(path=str(tmp_path / "desktop-replies.png"))
    # a reload draws the replies again from the state snapshot
    await page.reload()
    await page.fill("#token", token)
    await page.click("#login-button")
    await page.locator(".reply[data-status='sent']", has_text="correggiamo").wait_for()
    await page.locator(".reply[data-status='failed']", has_text="Seconda").wait_for()
