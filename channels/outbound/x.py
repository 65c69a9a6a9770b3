"""Direct-message replies on X (optional: X's API is paid).

``POST {api}/2/dm_conversations/with/{participant id}/messages`` with ``{"text": ...}`` and
``Authorization: Bearer <user-context access token>`` (OAuth 2.0 with the dm.write scope);
the answer is ``{"data": {"dm_conversation_id", "dm_event_id"}}``. Errors come as
``{"title", "detail"}`` or ``{"errors": [{"message"}]}``; 429 is Retryable.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from channels.outbound.base import (
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


def x_reason(body: dict[str, Any], status: int) -> str:
    if body.get("detail"):
        return str(body["detail"])
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or errors[0].get("detail") or "")
    return str(body.get("title") or f"HTTP {status}")


@register_sender
class XSender(Sender):
    name = "x"
    platforms = frozenset({"x"})

    def __init__(
        self, access_token: str, api_url: str = "https://api.x.com", timeout: float = 10.0
    ) -> None:
        self.client = http_client(
            api_url, timeout, headers={"Authorization": f"Bearer {access_token}"}
        )

    async def send(self, message: Outbound) -> Sent:
        if message.template is not None:
            raise Permanent("X has no message templates")
        path = f"/2/dm_conversations/with/{quote(message.to, safe='')}/messages"
        response = await post(self.client, path, json={"text": message.text})
        data = json_body(response)
        if response.status_code >= 400:
            raise by_status(response.status_code, f"X: {x_reason(data, response.status_code)}")
        found = data.get("data")
        return Sent(str(found.get("dm_event_id", "")) if isinstance(found, dict) else "")

    async def close(self) -> None:
        await self.client.aclose()
