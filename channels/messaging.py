"""SMS and WhatsApp in through a Twilio-style messaging webhook.

Incoming messages are form-encoded (MessageSid, From, To, Body, NumMedia, MediaContentType0..)
and signed like voice callbacks (X-Twilio-Signature, channels/voice.py). ``From`` carries a
``whatsapp:`` prefix for WhatsApp. A message continues the live contact of the same number.

The carrier-standard keywords are honoured: STOP (and STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT, REVOKE, OPTOUT) records an opt-out, after which no SMS is sent to that number;
START (UNSTOP, YES) lifts it. The provider answers those keywords itself.
"""

from __future__ import annotations

from typing import Any

from channels.base import (
    BadPayload,
    ChannelAdapter,
    Forbidden,
    Inbound,
    InboundEvent,
    OptOut,
    RawRequest,
    Reply,
    Unauthorized,
    register,
    same,
)
from channels.contact import CustomerRef, InboundContact
from channels.voice import TWIML_EMPTY, twilio_signature
from skills.vocabulary import Channel

STOP = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
START = frozenset({"start", "unstop", "yes"})
MAX_TEXT = 20000
MAX_MEDIA = 10


@register
class TwilioMessaging(ChannelAdapter):
    name = "twilio_sms"

    def __init__(self, auth_token: str, gateway: str = "twilio-sms") -> None:
        self.auth_token = auth_token
        self.gateway = gateway

    def parse(self, request: RawRequest) -> list[InboundEvent]:
        signature = request.header("x-twilio-signature")
        if not signature:
            raise Unauthorized("missing X-Twilio-Signature")
        form = dict(request.form)
        if not same(signature, twilio_signature(self.auth_token, request.url, form)):
            raise Forbidden("X-Twilio-Signature does not match this request")
        sid = form.get("MessageSid", "").strip()
        sender = form.get("From", "").strip()
        if not sid or not sender:
            raise BadPayload("a message needs MessageSid and From")
        platform = "whatsapp" if sender.startswith("whatsapp:") else "sms"
        number = sender.removeprefix("whatsapp:")
        text = form.get("Body", "")[:MAX_TEXT]
        keyword = text.strip().lower()
        if platform == "sms" and keyword in STOP | START:
            return [OptOut(self.gateway, platform, number, keyword in STOP, keyword)]
        media = self._media(form)
        attributes: dict[str, object] = {"platform": platform, "attachments": len(media)}
        if media:
            attributes["attachment_list"] = media
        if form.get("To"):
            attributes["to"] = form["To"].removeprefix("whatsapp:")[:200]
        contact = InboundContact(
            gateway=self.gateway,
            external_id=f"{platform}:{sid}",
            channel=Channel.SOCIAL,
            customer=CustomerRef(
                name=form.get("ProfileName", "")[:200], phone=number, handles={platform: number}
            ),
            text=text or ("[attachment]" if media else ""),
            attributes=attributes,
        )
        return [Inbound(contact, thread_keys=(f"{platform}:{number}",))]

    @staticmethod
    def _media(form: dict[str, str]) -> list[dict[str, str | int]]:
        try:
            count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
        except ValueError as exc:
            raise BadPayload("NumMedia must be a number") from exc
        return [
            {
                "filename": form.get(f"MediaUrl{i}", "")[:300].rsplit("/", 1)[-1] or f"media{i}",
                "content_type": form.get(f"MediaContentType{i}", "")[:100],
                "size": -1,  # the provider does not say; the file stays with it
            }
            for i in range(count)
        ]

    def acknowledge(
        self, events: list[InboundEvent], results: list[dict[str, Any]] | None = None
    ) -> Reply:
        return Reply(TWIML_EMPTY, "text/xml")
