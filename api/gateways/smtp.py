"""The SMTP listener: aiosmtpd's protocol served on the app's own event loop, so every
message goes through the same single routing writer as the HTTP intake."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP


async def start_smtp(handler: Any, host: str, port: int, max_size: int) -> asyncio.Server:
    """Listen for SMTP; ``handler`` is an aiosmtpd handler (``handle_DATA``): the one that
    stores and routes (channels/email.py) or, on a multi-node edge, the one that forwards."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler, data_size_limit=max_size, hostname="centralino", ident="centralino ESMTP"
        ),
        host,
        port,
    )
