"""The watch of a websocket signed in by a session (api/base/session_watch.py), against a
backend whose checks can be made to fail as a store that cannot be read fails them
(StoreError): a failed check is no verdict, the session's expiry as last checked still
ends it, and only the first failure of a run is logged."""

from __future__ import annotations

import asyncio
import logging
import time
from types import SimpleNamespace

from api.base.session_watch import watch_session
from api.base.sessions import Principal
from router.store.errors import StoreError
from tests.live import Captured
from tests.receivers import until


class Backend:
    """Answers checks with ``principal``, or raises StoreError while ``down``."""

    def __init__(self, principal: Principal | None) -> None:
        self.principal_now = principal
        self.down = False
        self.checks = 0

    async def principal(self, _cookie: str) -> Principal | None:
        self.checks += 1
        if self.down:
            raise StoreError("could not read: OperationalError")
        return self.principal_now


def signed_in(expires_at: float) -> Principal:
    return Principal("sara", "Sara", "supervisor", None, "csrf", "hash", expires_at)


async def test_checks_that_fail_keep_the_socket_until_they_work_and_tell_the_end() -> None:
    backend = Backend(signed_in(time.time() + 3600))
    app = SimpleNamespace(state=SimpleNamespace(backend=backend))
    captured = Captured()
    logging.getLogger("centralino.sessions").addHandler(captured)
    try:
        watch = asyncio.create_task(watch_session(app, "cookie", lambda p: True, 0.001))
        await until(lambda: backend.checks >= 2, what="two checks that work")
        backend.down = True
        seen = backend.checks
        await until(lambda: backend.checks >= seen + 20, what="twenty checks that fail")
        assert not watch.done()  # no verdict
        assert len(captured.lines) == 1 and "could not be checked" in captured.lines[0]
        backend.down = False
        backend.principal_now = None  # revoked meanwhile
        await asyncio.wait_for(watch, 30)  # ended at the first check that works
    finally:
        logging.getLogger("centralino.sessions").removeHandler(captured)


async def test_a_session_that_expires_while_checks_fail_still_ends() -> None:
    backend = Backend(signed_in(time.time() + 0.2))
    app = SimpleNamespace(state=SimpleNamespace(backend=backend))
    watch = asyncio.create_task(watch_session(app, "cookie", lambda p: True, 0.001))
    await until(lambda: backend.checks >= 1, what="a check that works")
    backend.down = True
    await asyncio.wait_for(watch, 30)  # the expiry, as last checked, passed
    assert backend.checks >= 2
