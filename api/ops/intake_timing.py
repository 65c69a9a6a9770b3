"""How long the server takes to answer a gateway's new contact, from its own side.

``IntakeTiming`` is the outermost middleware: for every ``POST /v1/contacts`` it takes the
time when the request reaches the app (uvicorn has read its head and called the app) and
when the last byte of the answer is handed to the connection, and observes the difference
in /metrics' ``centralino_intake_seconds{status}`` (status: the answer's HTTP status,
``202`` for a contact taken in). That is the server's part of a gateway's wait: the body,
the checks, triage, the commit that makes the contact durable, and every turn of the busy
event loop in between. Not in it: time the request waited in the socket before the event
loop read it (a saturated loop shows as ``centralino_event_loop_lag_seconds``), and the
network. A request that ends without an answer (the client left) is not observed.

With no metrics (before start-up has made them) the request passes untimed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from api.base.asgi_types import ASGIApp, Message, Receive, Scope, Send

PATH = "/v1/contacts"
# ms when the loop keeps up (issue 12's shift-start target: p99 50 ms), seconds when not
INTAKE_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1),
    *(0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
Observe = Callable[[int, float], None]  # (HTTP status, seconds)


class IntakeTiming:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        metrics = getattr(scope["app"].state, "metrics", None)
        if metrics is None:
            await self.app(scope, receive, send)
            return
        observe: Observe = metrics.observe_intake
        started = time.perf_counter()
        status = 0

        async def timed(message: Message) -> None:
            nonlocal status
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                observe(status, time.perf_counter() - started)

        await self.app(scope, receive, timed)
