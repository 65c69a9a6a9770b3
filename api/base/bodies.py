"""Request bodies, before any endpoint sees them: at most ``limit`` bytes (413), read within
``timeout`` seconds (408, the connection closed), and a JSON body must be strict JSON
(400 naming the problem: NaN, Infinity, lone surrogates, huge numbers, deep nesting; see
channels/strict_json.py). Plain syntax errors are left to the endpoint (422).

A body is read whole (up to the limit) and replayed to the app, so an endpoint never waits
on a slow client and never parses what was already refused.
"""

from __future__ import annotations

import asyncio

from fastapi.responses import JSONResponse

from api.base.asgi_types import ASGIApp, Message, Receive, Scope, Send
from channels.strict_json import NotJson, UnsafeJson, loads

JSON_TYPES = ("application/json",)
PARSED_JSON = "centralino.json"  # scope key: the body, parsed (for api/gateways/fast_intake.py)


def is_json(content_type: bytes | None) -> bool:
    """No content type (FastAPI then reads JSON), application/json or any +json type."""
    if not content_type:
        return True
    media = content_type.split(b";")[0].strip().lower().decode("latin-1")
    return media in JSON_TYPES or media.endswith("+json")


class RequestBodies:
    def __init__(self, app: ASGIApp, limit: int, timeout: float) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _refuse(send, 413, f"request body larger than {self.limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        gone = False
        try:
            # one timer for the whole body (asyncio.wait_for per message made a task each)
            async with asyncio.timeout(self.timeout):
                while size <= self.limit:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away
                        gone = True
                        break
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await _refuse(
                send, 408, f"request body not received within {self.timeout:g} s", close=True
            )
            return
        if gone:
            await self.app(scope, receive, send)
            return
        if size > self.limit:
            await _refuse(send, 413, f"request body larger than {self.limit} bytes")
            return
        body = b"".join(chunks)
        if body and is_json(headers.get(b"content-type")):
            try:
                scope[PARSED_JSON] = loads(body)
            except NotJson:
                pass  # the endpoint answers a syntax error itself (422 naming the place)
            except UnsafeJson as exc:
                await _refuse(send, 400, f"JSON body refused: {exc}")
                return
        whole: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, replaying(whole, receive), send)


def replaying(first: Message, receive: Receive) -> Receive:
    """``receive`` that gives ``first`` again, then the rest."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return first

    return replay


async def _refuse(send: Send, status: int, detail: str, close: bool = False) -> None:
    headers = {"Connection": "close"} if close else None
    response = JSONResponse({"detail": detail}, status, headers=headers)
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
