"""How long the server takes to answer a gateway's new contact, from its own side.

``IntakeTiming`` wraps every middleware of ours an HTTP request goes through (outside
it: Starlette's error middleware, FastAPI's telemetry and body limit, and
api/base/socket_routes.py, which passes HTTP on): for each ``POST /v1/contacts`` it
takes the time when the request reaches the app (uvicorn has read its head and called
the app) and when the last part of the answer is handed to the connection's transport,
and observes the difference in /metrics' ``centralino_intake_seconds{status}`` (status:
the answer's HTTP status, ``202`` for a contact taken in; ``500`` for an error no
handler answered). That is the server's part of a gateway's wait: the body, the checks,
triage, the commit that makes the contact durable, and every turn of the busy event loop
in between. Not in it: time the request waited in the socket before the event loop read
it (a saturated loop shows as ``centralino_event_loop_lag_seconds``), and the network.

Only the node that routes has metrics (api/node/stack.py): other nodes' requests pass
untimed, and so does a request another node forwarded to the router (it was timed, or
not, where it arrived; timing it again would count it twice).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from api.base.asgi_types import FORWARDED, ASGIApp, Message, Receive, Scope, Send
from api.base.paths import is_intake

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
        if not is_intake(scope):
            await self.app(scope, receive, send)
            return
        metrics = getattr(scope["app"].state, "metrics", None)
        if metrics is None or scope.get(FORWARDED):
            await self.app(scope, receive, send)
            return
        observe: Observe = metrics.observe_intake
        started = time.perf_counter()
        status = 0
        answered = False

        async def timed(message: Message) -> None:
            nonlocal status, answered
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
            await send(message)
            if kind == "http.response.body" and not message.get("more_body", False):
                answered = True
                observe(status, time.perf_counter() - started)

        try:
            await self.app(scope, receive, timed)
        except Exception:
            if not answered:  # Starlette's error middleware, outside, answers 500
                observe(500, time.perf_counter() - started)
            raise
