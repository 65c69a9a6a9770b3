"""The SMTP listener: aiosmtpd's protocol served on the app's own event loop, so every
message goes through the same single routing writer as the HTTP intake."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP

from channels.email import SmtpHandler


async def start_smtp(dispatcher: Any, host: str, port: int, max_size: int) -> asyncio.Server:
    handler = SmtpHandler(dispatcher)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler, data_size_limit=max_size, hostname="centralino", ident="centralino ESMTP"
        ),
        host,
        port,
    )
