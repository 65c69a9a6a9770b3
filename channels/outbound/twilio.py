"""SMS and WhatsApp replies through a Twilio-style messages API.

``POST {api}/2010-04-01/Accounts/{account sid}/Messages.json``, form-encoded ``To``,
``From`` and ``Body`` (or ``ContentSid`` for an approved WhatsApp template), HTTP Basic
auth with the account sid and auth token. WhatsApp numbers carry the ``whatsapp:`` prefix.
The answer is the message resource (``sid``, ``status``); errors are ``{"code",
"message", "status"}``: 21610 means the recipient sent STOP (OptedOut), 63016 a WhatsApp
message outside the 24-hour window.
"""

from __future__ import annotations

from channels.outbound.base import (
    DeliveryError,
    OptedOut,
    Outbound,
    Permanent,
    Sender,
    Sent,
    by_status,
    http_client,
    json_body,
    post,
    register_sender,
)

UNSUBSCRIBED = 21610
WINDOW_CLOSED = 63016


def twilio_error(status: int, code: int | None, message: str) -> DeliveryError:
    reason = f"Twilio {code}: {message}" if code else f"Twilio: {message}"
    if code == UNSUBSCRIBED:
        return OptedOut(f"the customer replied STOP to our messages ({reason})", str(code))
    if code == WINDOW_CLOSED:
        return Permanent(
            f"outside the 24-hour window, only an approved template may be sent ({reason})",
            str(code),
        )
    return by_status(status, reason, str(code or ""))


@register_sender
class TwilioSender(Sender):
    name = "twilio"
    platforms = frozenset({"sms", "whatsapp"})

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        sms_from: str = "",
        whatsapp_from: str = "",
        api_url: str = "https://api.twilio.com",
        timeout: float = 10.0,
    ) -> None:
        self.account_sid = account_sid
        self.senders = {"sms": sms_from, "whatsapp": whatsapp_from}
        self.client = http_client(api_url, timeout, auth=(account_sid, auth_token))

    def form(self, message: Outbound) -> dict[str, str]:
        sender = self.senders.get(message.platform, "")
        if not sender:
            raise Permanent(f"no {message.platform} number is configured to send from")
        to = message.to
        if message.platform == "whatsapp":
            sender = sender if sender.startswith("whatsapp:") else f"whatsapp:{sender}"
            to = to if to.startswith("whatsapp:") else f"whatsapp:{to}"
        form = {"To": to, "From": sender}
        if message.template is not None:
            form["ContentSid"] = message.template.name
        else:
            form["Body"] = message.text
        return form

    async def send(self, message: Outbound) -> Sent:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        response = await post(self.client, path, data=self.form(message))
        data = json_body(response)
        if response.status_code >= 400:
            code = data.get("code")
            raise twilio_error(
                response.status_code,
                code if isinstance(code, int) else None,
                str(data.get("message") or f"HTTP {response.status_code}"),
            )
        return Sent(str(data.get("sid", "")))

    async def close(self) -> None:
        await self.client.aclose()
