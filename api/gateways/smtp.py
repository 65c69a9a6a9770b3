"""Email in over SMTP: aiosmtpd's protocol served on the app's own event loop, so every
message goes through the same single routing writer as the HTTP intake, and the handler
that parses (channels/email.py), stores and routes each message before answering 250."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP

from channels.base import ChannelError
from channels.contact import IntakeError
from channels.email import GATEWAY, parse_mime
from channels.email_auth import parse_authserv_ids
from router.store.errors import StoreError

log = logging.getLogger("centralino.smtp")


async def start_smtp(handler: Any, host: str, port: int, max_size: int) -> asyncio.Server:
    """Listen for SMTP; ``handler`` is an aiosmtpd handler (``handle_DATA``): the one that
    stores and routes (SmtpHandler) or, on a multi-node edge, the one that forwards."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler, data_size_limit=max_size, hostname="centralino", ident="centralino ESMTP"
        ),
        host,
        port,
    )


class SmtpHandler:
    """aiosmtpd handler: each message is parsed, stored and routed before 250 is sent."""

    def __init__(self, dispatcher: Any, gateway: str = GATEWAY, authserv_ids: str = "") -> None:
        self.dispatcher = dispatcher
        self.gateway = gateway
        self.trusted = parse_authserv_ids(authserv_ids)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        return await self.deliver(raw)

    async def deliver(self, raw: bytes) -> str:
        """Store and route one message; the SMTP reply to give the sending server."""
        try:
            parsed = parse_mime(raw, self.trusted)
            await self.dispatcher.apply([parsed.event(self.gateway)])
        except (ChannelError, IntakeError) as exc:
            return f"550 5.6.0 {str(exc)[:200]}"
        except StoreError:
            return "451 4.3.0 temporarily unable to store the message, try again"
        except Exception:  # unforeseen: the sender keeps the mail and retries (a 5xx bounces it)
            log.exception("an SMTP message could not be taken")
            return "451 4.3.0 temporarily unable to store the message, try again"
        return "250 2.0.0 message accepted"
