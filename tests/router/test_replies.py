"""The reply outbox on real SQLite and PostgreSQL, sending to local provider stand-ins:
committed before sending, guarded status moves, no resend after an ambiguous timeout,
retries only when the provider certainly did not take it, Meta's 24-hour window, SMS
opt-outs, and what a restart finds."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from channels.outbound.base import Template
from channels.outbound.meta import MetaSender
from channels.outbound.smtp import SmtpSender
from channels.outbound.twilio import TwilioSender
from router.replies import ReplyOutbox, ReplyRefused
from router.store.replies import ReplyStatus
from router.store.repository import Store
from tests.providers import META_TOKEN, TWILIO_SID, TWILIO_TOKEN, Answer, FakeProviders, Relay

NOW = 1_800_000_000.0
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def outbox(store: Store, providers: FakeProviders, clock: Clock, **options: Any) -> ReplyOutbox:
    senders = {
        "meta": MetaSender(
            META_TOKEN,
            providers.url + "/v21.0",
            page_id="PAGE1",
            whatsapp_phone_id="PH1",
            timeout=options.pop("timeout", 5.0),
        ),
        "twilio": TwilioSender(
            TWILIO_SID, TWILIO_TOKEN, sms_from="+15005550006", api_url=providers.url
        ),
    }
    statuses: list[tuple[str, dict[str, Any]]] = []
    box = ReplyOutbox(
        SimpleNamespace(clock=clock, store=store),  # type: ignore[arg-type]
        senders,
        retry_delays=options.pop("retry_delays", (0.01, 0.01)),
        on_status=lambda agent, view: statuses.append((agent, view)),
        **options,
    )
    box.statuses = statuses  # type: ignore[attr-defined]
    return box


async def contact(store: Store, platform: str, *, arrival: float = NOW, **fields: Any) -> Any:
    customer = {"handles": {platform: "USER-1"}, "phone": "+393471234567"}
    values: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "gateway": fields.pop("gateway", "meta"),
        "external_id": uuid.uuid4().hex,
        "channel": fields.pop("channel", "social"),
        "customer": customer,
        "subject": "",
        "attributes": {"platform": platform},
        "queue": "social",
        "rule": "r",
        "policy": {},
        "state": "assigned",
        "agent_id": "anna",
        "arrival": arrival,
        "updated_at": arrival,
        **fields,
    }
    row, _ = await store.add_contact(values)
    return row


async def settled(box: ReplyOutbox, store: Store, reply_id: str) -> Any:
    """The reply once its sending is over (polled, generous deadline)."""
    deadline = asyncio.get_running_loop().time() + 15
    while True:
        row = await store.replies.get(reply_id)
        if row is not None and row.status in ("sent", "failed", "unknown"):
            return row
        assert asyncio.get_running_loop().time() < deadline, row and row.status
        await asyncio.sleep(0.02)


async def test_reply_is_committed_then_sent(store: Store, providers: FakeProviders) -> None:
    clock = Clock()
    box = outbox(store, providers, clock)
    row = await contact(store, "messenger")
    try:
        view, created = await box.reply("anna", row, "Ciao!", "key-1")
        assert created and view["status"] == "pending"
        done = await settled(box, store, view["reply_id"])
        assert done.status == "sent" and done.provider_id.startswith("m_") and done.attempts == 1
        seen = [status["status"] for _, status in box.statuses]  # type: ignore[attr-defined]
        assert seen == ["sending", "sent"]
        # the same reply_key again (a lost ack): the record answers, nothing is sent twice
        again, created = await box.reply("anna", row, "Ciao!", "key-1")
        assert not created and again["reply_id"] == view["reply_id"]
        assert again["status"] == "sent"
    finally:
        await box.close()
    assert len(providers.of("meta")) == 1
    assert providers.of("meta")[0].body["recipient"] == {"id": "USER-1"}


async def test_ambiguous_timeout_is_never_resent(store: Store, providers: FakeProviders) -> None:
    providers.answer("meta", Answer(hang=3.0))
    box = outbox(store, providers, Clock(), timeout=0.5)
    row = await contact(store, "messenger")
    try:
        view, _ = await box.reply("anna", row, "Ciao!")
        done = await settled(box, store, view["reply_id"])
        await asyncio.sleep(0.3)  # had it been retried, the stand-in would have it by now
    finally:
        await box.close()
    assert done.status == "unknown" and "no answer" in done.reason
    assert len(providers.of("meta")) == 1


async def test_retryable_errors_are_retried_then_give_up(
    store: Store, providers: FakeProviders
) -> None:
    providers.answer(
        "meta", Answer(503, {"error": {"message": "Service temporarily unavailable", "code": 2}})
    )
    box = outbox(store, providers, Clock())
    row = await contact(store, "messenger")
    try:
        view, _ = await box.reply("anna", row, "first")
        done = await settled(box, store, view["reply_id"])
        assert done.status == "sent" and done.attempts == 2
        down = Answer(429, {"error": {"message": "Calls to this api have exceeded", "code": 613}})
        providers.answer("meta", down, down, down)
        view, _ = await box.reply("anna", row, "second")
        done = await settled(box, store, view["reply_id"])
    finally:
        await box.close()
    assert done.status == "failed" and done.attempts == 3
    assert done.reason.startswith("gave up after 3 tries") and "exceeded" in done.reason
    assert len(providers.of("meta")) == 5  # 2 tries of the first, 3 of the second


async def test_permanent_failure_shows_the_providers_reason(
    store: Store, providers: FakeProviders
) -> None:
    providers.answer(
        "meta",
        Answer(
            400,
            {"error": {"message": "(#551) This person isn't available right now.", "code": 551}},
        ),
    )
    box = outbox(store, providers, Clock())
    row = await contact(store, "messenger")
    try:
        view, _ = await box.reply("anna", row, "Ciao")
        done = await settled(box, store, view["reply_id"])
    finally:
        await box.close()
    assert done.status == "failed" and "isn't available right now" in done.reason
    assert done.attempts == 1


async def test_meta_24_hour_window(store: Store, providers: FakeProviders) -> None:
    clock = Clock()
    box = outbox(store, providers, clock)
    old = await contact(store, "whatsapp", arrival=NOW - 25 * HOUR)
    try:
        with pytest.raises(ReplyRefused) as refused:
            await box.reply("anna", old, "Ciao")
        assert refused.value.code == "window_closed" and "template" in refused.value.message
        view, _ = await box.reply("anna", old, "order update", template=Template("order", "it"))
        assert (await settled(box, store, view["reply_id"])).status == "sent"
        # the customer writes again: the window opens again
        await store.add_message(old.id, NOW - HOUR, "message", "ci sei?", {}, "wamid.in")
        view, _ = await box.reply("anna", old, "Sì, eccomi")
        assert (await settled(box, store, view["reply_id"])).status == "sent"
        messenger = await contact(store, "messenger", arrival=NOW - 25 * HOUR)
        with pytest.raises(ReplyRefused, match="no reply"):
            await box.reply("anna", messenger, "Ciao")
    finally:
        await box.close()
    bodies = [r.body for r in providers.of("meta")]
    assert bodies[0]["type"] == "template" and bodies[1]["type"] == "text"
    assert len(bodies) == 2


async def test_sms_stop_is_recorded_and_enforced(store: Store, providers: FakeProviders) -> None:
    providers.answer(
        "twilio", Answer(400, {"code": 21610, "message": "Attempt to send to unsubscribed"})
    )
    box = outbox(store, providers, Clock())
    row = await contact(store, "sms", gateway="twilio-sms")
    try:
        view, _ = await box.reply("anna", row, "Ciao")
        done = await settled(box, store, view["reply_id"])
        assert done.status == "failed" and "STOP" in done.reason
        assert await store.replies.opted_out("sms", "+393471234567")
        with pytest.raises(ReplyRefused) as refused:
            await box.reply("anna", row, "Ciao?")
        assert refused.value.code == "opted_out"
        await store.replies.set_opted_out("sms", "+393471234567", False, NOW, "START")
        view, _ = await box.reply("anna", row, "Bentornato")
        assert (await settled(box, store, view["reply_id"])).status == "sent"
    finally:
        await box.close()
    assert [r.body["Body"] for r in providers.of("twilio")] == ["Ciao", "Bentornato"]


async def test_routes_refused_without_a_row(store: Store, providers: FakeProviders) -> None:
    box = outbox(store, providers, Clock())
    try:
        call = await contact(store, "", channel="voice", gateway="twilio")
        with pytest.raises(ReplyRefused, match="phone"):
            await box.reply("anna", call, "hello")
        post = await contact(
            store, "instagram", attributes={"platform": "instagram", "public": True}
        )
        with pytest.raises(ReplyRefused, match="public"):
            await box.reply("anna", post, "hello")
        dm = await contact(store, "x", gateway="x")
        with pytest.raises(ReplyRefused, match="'x' sender configured"):
            await box.reply("anna", dm, "hello")
        long = await contact(store, "sms", gateway="twilio-sms")
        with pytest.raises(ReplyRefused, match="1600"):
            await box.reply("anna", long, "x" * 1601)
    finally:
        await box.close()
    assert await store.replies.unfinished() == []


async def test_a_restart_settles_what_was_left(store: Store, providers: FakeProviders) -> None:
    clock = Clock()
    row = await contact(store, "messenger")
    base = {
        "contact_id": row.id,
        "agent_id": "anna",
        "client_ref": None,
        "sender": "meta",
        "platform": "messenger",
        "recipient": "USER-1",
        "text": "t",
        "subject": "",
        "message_id": "",
        "in_reply_to": "",
        "thread_refs": [],
        "template": {},
        "reason": "",
        "provider_id": "",
        "attempts": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    await store.replies.create({**base, "id": "left-pending", "status": "pending"})
    await store.replies.create({**base, "id": "left-sending", "status": "sending"})
    box = outbox(store, providers, clock)
    try:
        assert await box.recover() == 2
        pending = await settled(box, store, "left-pending")
        sending = await settled(box, store, "left-sending")
    finally:
        await box.close()
    assert pending.status == "sent"
    assert sending.status == "unknown" and "stopped while sending" in sending.reason
    assert len(providers.of("meta")) == 1
    # final states never move again
    assert await store.replies.move("left-pending", ReplyStatus.SENDING, NOW) is None
    assert await store.replies.move("left-sending", ReplyStatus.SENT, NOW) is None


async def test_email_reply_threads_and_joins_the_contact(store: Store) -> None:
    relay = Relay().start()
    clock = Clock()
    sender = SmtpSender("127.0.0.1", relay.port, "Help <help@shop.example>", starttls=False)
    box = ReplyOutbox(
        SimpleNamespace(clock=clock, store=store),  # type: ignore[arg-type]
        {"smtp": sender},
        email_from="Help <help@shop.example>",
    )
    row = await contact(
        store,
        "",
        channel="email",
        gateway="email",
        external_id="<first@example.it>",
        subject="Bolletta",
        customer={"email": "mario@example.it"},
        attributes={},
    )
    await store.link_threads("email", ["<first@example.it>"], row.id, NOW)
    await store.add_message(row.id, NOW + 5, "message", "ancora io", {}, "<second@example.it>")
    try:
        view, _ = await box.reply("anna", row, "Ecco la risposta")
        assert view["message_id"] == f"<reply-{view['reply_id']}@shop.example>"
        assert (await settled(box, store, view["reply_id"])).status == "sent"
    finally:
        await box.close()
        relay.stop()
    (mail,) = relay.handler.messages
    assert mail["In-Reply-To"] == "<second@example.it>"
    assert mail["References"] == "<first@example.it> <second@example.it>"
    assert mail["Subject"] == "Re: Bolletta"
    # the customer's answer to our reply finds the contact by our Message-ID
    threaded = await store.thread_contact("email", [view["message_id"]])
    assert threaded is not None and threaded.id == row.id
    # an email contact from the generic intake has no Message-ID to answer
    generic = await contact(
        store,
        "",
        channel="email",
        gateway="crm",
        external_id="ticket-7",
        customer={"email": "mario@example.it"},
        attributes={},
    )
    assert await store.replies.email_thread(generic) == ("", ())
