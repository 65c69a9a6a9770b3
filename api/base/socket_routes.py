"""The websocket endpoints, called straight from the outermost of our middlewares.

A websocket lives as long as its desktop, chat or wallboard: a whole shift. Routed by
FastAPI, each held the ASGI stack open under it for all that time: every middleware's
call, FastAPI's and Starlette's routing, exception wrappers and dependency exit stacks,
17 coroutines, 3 exit stacks and their closures beside the session's own objects (the
garbage collector tracked 211 objects a logged-in desktop, 36 of them coroutines; 134 and
19 without: tests/api/base/test_socket_routes.py counts them). A shift start logs in
thousands of desktops within seconds, and the collector's middle generation walks each of
those objects once while the event loop waits.

None of the layers skipped does anything for a websocket: our middlewares (the timing,
the security headers, the rate limit, the body checks, the fast intake, the cluster's
forwarding) pass any scope but HTTP on, and the endpoints take the ``WebSocket`` alone, no
dependencies. So this middleware, added last (outermost of ours, inside FastAPI's own error,
telemetry and body-limit layers, which pass websockets on too), serves a websocket whose
path is one of ``routes`` itself; any other scope goes on to the app as before, so an
unknown path is still refused by FastAPI's router.

What changes: an exception that escapes an endpoint now goes to the server, which logs it
and drops the connection (or refuses a handshake not yet accepted with 500), instead of
to the app's exception handlers. Theirs answer in HTTP, which an accepted websocket has
no room for; Starlette's own for ``WebSocketException`` closed the socket with the
exception's code, and none of the endpoints raises one. The path is matched as uvicorn
gives it (root path included), as the other middlewares match theirs; ``centralino
serve`` sets no root path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.websockets import WebSocket

from api.base.asgi_types import ASGIApp, Receive, Scope, Send

SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


class SocketRoutes:
    def __init__(self, app: ASGIApp, routes: Mapping[str, SocketEndpoint]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            endpoint = self.routes.get(scope["path"])
            if endpoint is not None:
                await endpoint(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)
