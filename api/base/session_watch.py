"""A websocket signed in by a session stays only while the session does: it is checked
again every ``CENTRALINO_SESSION_CHECK_INTERVAL`` seconds (expired, revoked, user disabled
or its role or agent changed: the socket is told and closed with 4401). A check that
cannot be made (the store cannot be read, or no active router answers during a failover)
is no verdict: the socket stays and the session is checked again an interval later, so a
database blip or a rolling restart does not sign every open desktop and wallboard out."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from api.base.sessions import Principal
from router.store.errors import StoreError

log = logging.getLogger("centralino.sessions")

SESSION_ENDED = {
    "type": "error",
    "code": "session_ended",
    "message": "your sign-in session ended (expired or revoked): sign in again",
}


async def watch_session(
    app: Any, cookie: str, still_ok: Callable[[Principal], bool], interval: float
) -> None:
    """Return once the session behind ``cookie`` no longer lets this socket stay. While
    checks cannot be made, the session's expiry from the last check that could be made
    still ends it; the first check that fails is logged, and the first that works again."""
    expires_at: float | None = None
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            principal = await app.state.backend.principal(cookie)
        except StoreError as exc:
            if expires_at is not None and time.time() >= expires_at:
                return  # expired meanwhile: ended, checked or not
            if not failing:
                log.warning(
                    "a websocket's sign-in session could not be checked (tried again every "
                    "%gs, logged again once it can be): %s",
                    interval,
                    exc,
                )
                failing = True
            continue
        if failing:
            log.info("a websocket's sign-in session could be checked again")
            failing = False
        if principal is None or not still_ok(principal):
            return
        expires_at = principal.expires_at
