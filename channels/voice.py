"""Voice: telephony webhooks in the Twilio style, and live transcript segments.

Status callbacks are form-encoded (CallSid, From, To, CallStatus...) and signed with
X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + every form key and value, sorted
by key)). A ringing or answered call is a new contact (the caller's number identifies the
customer); a call that ends before an agent answers is abandoned. Transcript segments from
any speech-analytics provider are appended so the caller's emotion is re-scored while
they wait.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from channels.base import (
    BadPayload,
    ChannelAdapter,
    Ended,
    Forbidden,
    Inbound,
    InboundEvent,
    RawRequest,
    Reply,
    Unauthorized,
    register,
    same,
)
from channels.contact import CustomerRef, InboundContact
from channels.voice_calls import DEFAULT_HOLD_MUSIC, hold_twiml
from skills.vocabulary import Channel

STARTED = frozenset({"queued", "ringing", "in-progress", "initiated"})
FINISHED = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
_NUMBER = re.compile(r"^\+?[0-9][0-9 ()-]{4,}$")
HOLDING = frozenset({"queued", "offered"})  # the call waits for an agent: hold the caller
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twilio_signature(auth_token: str, url: str, form: dict[str, str]) -> str:
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def call_thread(call_sid: str) -> str:
    return f"call:{call_sid}"


@register
class TwilioVoice(ChannelAdapter):
    name = "twilio"

    def __init__(
        self,
        auth_token: str,
        gateway: str = "twilio",
        hold_music_url: str = DEFAULT_HOLD_MUSIC,
        language: str = "it",
    ) -> None:
        self.auth_token = auth_token
        self.gateway = gateway
        self.hold_music_url = hold_music_url
        self.language = language

    def parse(self, request: RawRequest) -> list[InboundEvent]:
        signature = request.header("x-twilio-signature")
        if not signature:
            raise Unauthorized("missing X-Twilio-Signature")
        form = dict(request.form)
        if not same(signature, twilio_signature(self.auth_token, request.url, form)):
            raise Forbidden("X-Twilio-Signature does not match this request")
        call_sid = form.get("CallSid", "").strip()
        status = form.get("CallStatus", "").strip().lower()
        if not call_sid or not status:
            raise BadPayload("a voice callback needs CallSid and CallStatus")
        if status in FINISHED:
            return [Ended(self.gateway, call_thread(call_sid), status)]
        if status not in STARTED:
            raise BadPayload(f"unknown CallStatus {status!r}")
        caller = form.get("From", "").strip()
        phone = caller if _NUMBER.match(caller) else None
        attributes = {
            key.lower(): form[key][:200]
            for key in ("To", "Direction", "CallerCountry")
            if form.get(key)
        }
        if caller and phone is None:
            attributes["caller"] = caller[:200]  # anonymous, SIP or client callers
        contact = InboundContact(
            gateway=self.gateway,
            external_id=call_sid,
            channel=Channel.VOICE,
            customer=CustomerRef(name=form.get("CallerName", "")[:200], phone=phone),
            attributes=attributes,
        )
        return [Inbound(contact, thread_keys=(call_thread(call_sid),))]

    def acknowledge(
        self, events: list[InboundEvent], results: list[dict[str, Any]] | None = None
    ) -> Reply:
        """A new call is held (greeting, estimated wait, hold music) until an agent accepts
        and the router bridges it; a status callback gets an empty answer."""
        for event, result in zip(events, results or [], strict=False):
            if isinstance(event, Inbound) and result.get("state") in HOLDING:
                language = result.get("language") or self.language
                twiml = hold_twiml(language, result.get("estimated_wait"), self.hold_music_url)
                return Reply(twiml, "text/xml")
        return Reply(TWIML_EMPTY, "text/xml")
