"""Replies on Messenger, Instagram and WhatsApp through Meta's Graph API send endpoints.

- Messenger: ``POST {graph}/{page id}/messages`` with ``recipient.id`` (the page-scoped
  user id), ``messaging_type: RESPONSE`` and ``message.text``.
- Instagram: ``POST {graph}/{instagram account id}/messages``, the same body.
- WhatsApp Cloud API: ``POST {graph}/{phone number id}/messages`` with
  ``messaging_product: whatsapp``, ``to`` and a ``text`` or an approved ``template``.

Every call carries ``Authorization: Bearer <access token>``. Meta has no idempotency key:
a timeout is Ambiguous and never resent. Meta's errors (``{"error": {"message", "code",
"error_subcode"}}``) are converted here: rate limits and temporary faults are Retryable,
a message outside the 24-hour window or to an unreachable user is Permanent.
"""

from __future__ import annotations

from typing import Any

from channels.outbound.base import (
    DeliveryError,
    Outbound,
    Permanent,
    Retryable,
    Sender,
    Sent,
    by_status,
    http_client,
    json_body,
    post,
    register_sender,
)

# temporarily unavailable (2), rate limits (4, 17, 32, 613, 80007, 130429, 131056): refused,
# so safe to send again. "Unknown error" (1) proves nothing and stays with its HTTP status.
RETRYABLE_CODES = frozenset({"2", "4", "17", "32", "613", "80007", "130429", "131056"})
WINDOW_CODES = frozenset({"131047", "10/2018278", "10/2018108", "2018278"})


def meta_error(status: int, body: dict[str, Any]) -> DeliveryError:
    raw = body.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    code = str(error.get("code", ""))
    sub = str(error.get("error_subcode", ""))
    full = f"{code}/{sub}" if sub else code
    reason = str(error.get("message") or f"HTTP {status}")
    if code in WINDOW_CODES or full in WINDOW_CODES:
        return Permanent(
            f"outside the 24-hour window, only an approved template may be sent ({reason})", full
        )
    if code in RETRYABLE_CODES:
        return Retryable(f"Meta {full}: {reason}", full)
    return by_status(status, f"Meta {full}: {reason}" if code else reason, full)


@register_sender
class MetaSender(Sender):
    name = "meta"
    platforms = frozenset({"messenger", "instagram", "whatsapp"})

    def __init__(
        self,
        access_token: str,
        graph_url: str = "https://graph.facebook.com/v21.0",
        page_id: str = "me",
        instagram_id: str = "me",
        whatsapp_phone_id: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.ids = {
            "messenger": page_id or "me",
            "instagram": instagram_id or "me",
            "whatsapp": whatsapp_phone_id,
        }
        self.client = http_client(
            graph_url, timeout, headers={"Authorization": f"Bearer {access_token}"}
        )

    def request(self, message: Outbound) -> tuple[str, dict[str, Any]]:
        """The path and JSON body for this reply."""
        account = self.ids.get(message.platform)
        if not account:
            raise Permanent(f"no {message.platform} account is configured to send from")
        if message.platform == "whatsapp":
            body: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": message.to,
            }
            if message.template is not None:
                body["type"] = "template"
                body["template"] = {
                    "name": message.template.name,
                    "language": {"code": message.template.language},
                }
            else:
                body["type"] = "text"
                body["text"] = {"preview_url": False, "body": message.text}
            return f"/{account}/messages", body
        if message.template is not None:
            raise Permanent(f"{message.platform} has no message templates here")
        return f"/{account}/messages", {
            "recipient": {"id": message.to},
            "messaging_type": "RESPONSE",
            "message": {"text": message.text},
        }

    async def send(self, message: Outbound) -> Sent:
        path, body = self.request(message)
        response = await post(self.client, path, json=body)
        data = json_body(response)
        if response.status_code >= 400:
            raise meta_error(response.status_code, data)
        messages = data.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            return Sent(str(messages[0].get("id", "")))
        return Sent(str(data.get("message_id", "")))

    async def close(self) -> None:
        await self.client.aclose()
