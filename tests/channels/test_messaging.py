"""SMS and WhatsApp in through the Twilio-style messaging webhook, signed by the official
twilio validator: messages, media, STOP / START, forged signatures."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from channels.base import Forbidden, Inbound, OptOut, RawRequest, Unauthorized
from channels.messaging import TwilioMessaging

TOKEN = "twilio-token"
URL = "https://centralino.example.com/v1/channels/twilio_sms/webhook"


def request(signature: str | None = "sign", **fields: str) -> RawRequest:
    form = {"MessageSid": "SM1", "From": "+393331234567", "To": "+15005550006", "Body": "ciao"}
    form.update(fields)
    headers = {}
    if signature == "sign":
        headers["x-twilio-signature"] = RequestValidator(TOKEN).compute_signature(URL, form)
    elif signature is not None:
        headers["x-twilio-signature"] = signature
    return RawRequest("POST", URL, headers, form=form)


def test_sms_with_media_becomes_a_social_contact_of_that_number() -> None:
    (event,) = TwilioMessaging(TOKEN).parse(
        request(NumMedia="1", MediaContentType0="image/png", MediaUrl0="https://x/Media/ME1")
    )
    assert isinstance(event, Inbound)
    contact = event.contact
    assert contact.external_id == "sms:SM1" and contact.channel.value == "social"
    assert contact.customer.phone == "+393331234567"
    assert contact.attributes["platform"] == "sms"
    assert contact.attributes["attachment_list"] == [
        {"filename": "ME1", "content_type": "image/png", "size": -1}
    ]
    assert event.thread_keys == ("sms:+393331234567",)


def test_whatsapp_through_twilio() -> None:
    (event,) = TwilioMessaging(TOKEN).parse(request(From="whatsapp:+393331234567"))
    assert isinstance(event, Inbound)
    assert event.contact.attributes["platform"] == "whatsapp"
    assert event.contact.customer.handles == {"whatsapp": "+393331234567"}


@pytest.mark.parametrize(("body", "stop"), [("STOP", True), (" stopall ", True), ("Start", False)])
def test_stop_and_start_are_opt_outs_not_contacts(body: str, stop: bool) -> None:
    (event,) = TwilioMessaging(TOKEN).parse(request(Body=body))
    assert event == OptOut("twilio-sms", "sms", "+393331234567", stop, body.strip().lower())


def test_unsigned_or_forged_is_refused() -> None:
    with pytest.raises(Unauthorized):
        TwilioMessaging(TOKEN).parse(request(signature=None))
    with pytest.raises(Forbidden):
        TwilioMessaging(TOKEN).parse(request(signature="AAAA"))
    signed_other = RequestValidator(TOKEN).compute_signature(URL, {"Body": "other"})
    with pytest.raises(Forbidden):
        TwilioMessaging(TOKEN).parse(request(signature=signed_other))
