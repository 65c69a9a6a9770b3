"""What a web-chat visitor is allowed: how often to start chats and to write (per address
and per chat), and which identity to believe (only one the embedding site signed).

One ``ChatGuard`` per app (``app.state.chat_guard``). Limits are counted on the node that
holds the chat's websocket; identities are checked where the chat's contact is made.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from api.base.limits import KeyedLimiter, client_address, parse_networks
from api.base.settings import Settings
from channels.contact import CustomerRef
from channels.signed_identity import KEY_ID, IdentityKeys, UntrustedIdentity, parse_keys

MAX_CHATS_TRACKED = 100_000
CLOSE_RATE_LIMITED = 4429


class SignedIdentityIn(BaseModel):
    """The embedding site's statement of who its logged-in customer is
    (channels/signed_identity.py)."""

    model_config = ConfigDict(extra="forbid")
    user_id: str | None = Field(None, min_length=1, max_length=200)
    email: EmailStr | None = None
    key_id: str = Field(pattern=KEY_ID)
    issued_at: int = Field(ge=0, le=10**11, description="Unix seconds")
    signature: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")


class RateLimited(Exception):
    def __init__(self, what: str, wait: float) -> None:
        super().__init__(what)
        self.retry_after = max(1, math.ceil(wait))

    def frame(self) -> dict[str, Any]:
        return {
            "type": "error",
            "code": "rate_limited",
            "message": f"{self}: try again in {self.retry_after} s",
            "retry_after": self.retry_after,
        }


class ChatGuard:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.proxies = parse_networks(settings.trusted_proxies)
        self.starts = KeyedLimiter(settings.chat_start_rate, settings.chat_start_burst, clock=clock)
        self.per_chat = KeyedLimiter(
            settings.chat_message_rate, settings.chat_message_burst, MAX_CHATS_TRACKED, clock
        )
        self.per_address = KeyedLimiter(
            settings.chat_address_rate, settings.chat_address_burst, clock=clock
        )
        self.keys = IdentityKeys(
            parse_keys(settings.chat_identity_keys), settings.chat_identity_max_age
        )

    def address(self, websocket: WebSocket) -> str:
        return client_address(websocket.scope, self.proxies)

    def check_start(self, address: str) -> None:
        wait = self.starts.take(address)
        if wait > 0:
            raise RateLimited("too many chats started from your address", wait)

    def check_message(self, address: str, session: str) -> None:
        wait = self.per_chat.take(session)
        if wait > 0:
            raise RateLimited("too many messages in this chat", wait)
        wait = self.per_address.take(address)
        if wait > 0:
            raise RateLimited("too many messages from your address", wait)

    def closed(self, session: str) -> None:
        self.per_chat.forget(session)

    def customer(
        self,
        session: str,
        name: str,
        email: str | None,
        phone: str | None,
        identity: SignedIdentityIn | None,
        now: float | None = None,
    ) -> CustomerRef:
        """The chat's customer: the one the site signed for, else a fresh unverified one
        that only carries what the visitor claims."""
        if identity is not None:
            try:
                visitor = self.keys.verify(
                    identity.key_id,
                    identity.issued_at,
                    identity.signature,
                    time.time() if now is None else now,
                    user_id=identity.user_id,
                    email=str(identity.email) if identity.email else None,
                )
            except UntrustedIdentity:
                pass
            else:
                return CustomerRef(id=visitor.user_id, name=name, email=visitor.email)
        return CustomerRef(id=session, name=name, email=email, phone=phone, verified=False)
