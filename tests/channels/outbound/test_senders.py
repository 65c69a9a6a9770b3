"""Each sender against a local server speaking its provider's request format, and each
provider error converted into our kinds (Permanent, Retryable, Ambiguous)."""

from __future__ import annotations

import pytest

from channels.outbound.base import Ambiguous, OptedOut, Outbound, Permanent, Retryable, Template
from channels.outbound.meta import MetaSender
from channels.outbound.smtp import SmtpSender, reply_subject
from channels.outbound.twilio import TwilioSender
from channels.outbound.x import XSender
from tests.providers import (
    META_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    X_TOKEN,
    Answer,
    FakeProviders,
    Relay,
    closed_url,
)


def meta(providers: FakeProviders, timeout: float = 5.0, url: str = "") -> MetaSender:
    return MetaSender(
        META_TOKEN,
        (url or providers.url) + "/v21.0",
        page_id="PAGE1",
        instagram_id="IG1",
        whatsapp_phone_id="PHONE1",
        timeout=timeout,
    )


def outbound(
    platform: str, to: str, text: str = "Ciao, controllo subito", **extra: object
) -> Outbound:
    return Outbound(key="k1", platform=platform, to=to, text=text, **extra)  # type: ignore[arg-type]


async def test_meta_messenger_instagram_and_whatsapp_bodies(providers: FakeProviders) -> None:
    sender = meta(providers)
    try:
        sent = await sender.send(outbound("messenger", "PSID-9"))
        assert sent.provider_id.startswith("m_")
        await sender.send(outbound("instagram", "IGSID-3"))
        wa = await sender.send(outbound("whatsapp", "393471234567"))
        assert wa.provider_id.startswith("wamid.")
        await sender.send(
            outbound("whatsapp", "393471234567", template=Template("order_update", "it"))
        )
    finally:
        await sender.close()
    got = providers.of("meta")
    assert [r.path for r in got] == [
        "/PAGE1/messages",
        "/IG1/messages",
        "/PHONE1/messages",
        "/PHONE1/messages",
    ]
    assert got[0].body == {
        "recipient": {"id": "PSID-9"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Ciao, controllo subito"},
    }
    assert got[2].body["text"] == {"preview_url": False, "body": "Ciao, controllo subito"}
    assert got[3].body["template"] == {"name": "order_update", "language": {"code": "it"}}


async def test_meta_errors_are_converted(providers: FakeProviders) -> None:
    providers.answer(
        "meta",
        Answer(
            400,
            {
                "error": {
                    "message": "(#10) This message is sent outside of allowed window.",
                    "code": 10,
                    "error_subcode": 2018278,
                }
            },
        ),
        Answer(400, {"error": {"message": "(#4) Application request limit reached", "code": 4}}),
        Answer(400, {"error": {"message": "(#100) Invalid parameter", "code": 100}}),
        Answer(hang=3.0),
    )
    sender = meta(providers, timeout=0.5)
    try:
        with pytest.raises(Permanent, match="24-hour window"):
            await sender.send(outbound("messenger", "PSID-9"))
        with pytest.raises(Retryable, match="request limit"):
            await sender.send(outbound("messenger", "PSID-9"))
        with pytest.raises(Permanent, match="Invalid parameter") as bad:
            await sender.send(outbound("messenger", "PSID-9"))
        assert bad.value.code == "100"
        with pytest.raises(Ambiguous):
            await sender.send(outbound("messenger", "PSID-9"))
    finally:
        await sender.close()
    wrong = MetaSender("wrong-token", providers.url + "/v21.0", page_id="PAGE1")
    try:
        with pytest.raises(Permanent, match="Invalid OAuth"):
            await wrong.send(outbound("messenger", "PSID-9"))
    finally:
        await wrong.close()


async def test_unreachable_provider_is_retryable(providers: FakeProviders) -> None:
    sender = meta(providers, url=closed_url())
    try:
        with pytest.raises(Retryable, match="could not reach"):
            await sender.send(outbound("messenger", "PSID-9"))
    finally:
        await sender.close()


async def test_x_direct_message(providers: FakeProviders) -> None:
    sender = XSender(X_TOKEN, providers.url)
    providers.answer(
        "x", Answer(403, {"title": "Forbidden", "detail": "You cannot send to this user"})
    )
    try:
        with pytest.raises(Permanent, match="cannot send to this user"):
            await sender.send(outbound("x", "1234"))
        sent = await sender.send(outbound("x", "1234"))
    finally:
        await sender.close()
    assert sent.provider_id
    assert providers.of("x")[-1].path == "/with/1234/messages"
    assert providers.of("x")[-1].body == {"text": "Ciao, controllo subito"}


async def test_twilio_sms_whatsapp_and_opt_out(providers: FakeProviders) -> None:
    sender = TwilioSender(
        TWILIO_SID,
        TWILIO_TOKEN,
        sms_from="+15005550006",
        whatsapp_from="+14155238886",
        api_url=providers.url,
    )
    try:
        sent = await sender.send(outbound("sms", "+393471234567"))
        assert sent.provider_id.startswith("SM")
        await sender.send(outbound("whatsapp", "+393471234567"))
        providers.answer(
            "twilio",
            Answer(400, {"code": 21610, "message": "Attempt to send to unsubscribed recipient"}),
            Answer(429, {"code": 20429, "message": "Too Many Requests"}),
        )
        with pytest.raises(OptedOut, match="STOP"):
            await sender.send(outbound("sms", "+393471234567"))
        with pytest.raises(Retryable):
            await sender.send(outbound("sms", "+393471234567"))
    finally:
        await sender.close()
    sms, wa = providers.of("twilio")[:2]
    assert sms.body == {
        "To": "+393471234567",
        "From": "+15005550006",
        "Body": "Ciao, controllo subito",
    }
    assert wa.body["To"] == "whatsapp:+393471234567" and wa.body["From"] == "whatsapp:+14155238886"
    wrong = TwilioSender(TWILIO_SID, "nope", sms_from="+15005550006", api_url=providers.url)
    try:
        with pytest.raises(Permanent, match="Authenticate"):
            await wrong.send(outbound("sms", "+393471234567"))
    finally:
        await wrong.close()


def smtp(relay: Relay, timeout: float = 5.0) -> SmtpSender:
    return SmtpSender(
        "127.0.0.1", relay.port, "Assistenza <help@shop.example>", starttls=False, timeout=timeout
    )


async def test_smtp_reply_is_threaded_and_keeps_the_subject(relay: Relay) -> None:
    sent = await smtp(relay).send(
        outbound(
            "email",
            "mario@example.it",
            subject="Bolletta di ottobre",
            message_id="<reply-k1@shop.example>",
            in_reply_to="<second@example.it>",
            references=("<first@example.it>",),
        )
    )
    assert sent.provider_id == "<reply-k1@shop.example>"
    (mail,) = relay.handler.messages
    assert mail["Subject"] == "Re: Bolletta di ottobre"
    assert mail["In-Reply-To"] == "<second@example.it>"
    assert mail["References"] == "<first@example.it> <second@example.it>"
    assert mail["Message-ID"] == "<reply-k1@shop.example>"
    assert mail["From"] == "Assistenza <help@shop.example>"
    assert mail.get_content().strip() == "Ciao, controllo subito"
    assert relay.handler.envelopes == [("help@shop.example", ["mario@example.it"])]
    assert reply_subject("RE: Bolletta") == "RE: Bolletta"
    assert reply_subject("") == "Re: your message"


async def test_smtp_errors_by_stage(relay: Relay) -> None:
    relay.handler.rcpt_answer = "550 5.1.1 no such user"
    with pytest.raises(Permanent, match="no such user"):
        await smtp(relay).send(outbound("email", "ghost@example.it"))
    relay.handler.rcpt_answer = "451 4.3.0 try later"
    with pytest.raises(Retryable, match="try later"):
        await smtp(relay).send(outbound("email", "mario@example.it"))
    relay.handler.rcpt_answer = None
    relay.handler.data_answer = "554 5.7.1 rejected as spam"
    with pytest.raises(Permanent, match="spam"):
        await smtp(relay).send(outbound("email", "mario@example.it"))
    relay.handler.data_answer = None
    relay.handler.hang = 3.0  # the message went out, no answer came: may have arrived
    with pytest.raises(Ambiguous, match="did not confirm"):
        await smtp(relay, timeout=0.5).send(outbound("email", "mario@example.it"))


async def test_smtp_relay_down_is_retryable() -> None:
    from tests.live import free_port

    sender = SmtpSender("127.0.0.1", free_port(), "help@shop.example", starttls=False, timeout=2)
    with pytest.raises(Retryable, match="could not reach"):
        await sender.send(outbound("email", "mario@example.it"))
