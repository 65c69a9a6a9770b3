"""A websocket signed in by a session stays only while the session does: it is checked
again every ``CENTRALINO_SESSION_CHECK_INTERVAL`` seconds (expired, revoked, user disabled
or its role or agent changed: the socket is told and closed with 4401)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from api.base.sessions import Principal

SESSION_ENDED = {
    "type": "error",
    "code": "session_ended",
    "message": "your sign-in session ended (expired or revoked): sign in again",
}


async def watch_session(
    app: Any, cookie: str, still_ok: Callable[[Principal], bool], interval: float
) -> None:
    """Return once the session behind ``cookie`` no longer lets this socket stay."""
    while True:
        await asyncio.sleep(interval)
        principal = await app.state.backend.principal(cookie)
        if principal is None or not still_ok(principal):
            return
