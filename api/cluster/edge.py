"""A node's side when several nodes share Redis: it serves gateways, desktops, the
wallboard and SMTP, and hands the work to the active router through the command stream.

- HTTP: new contacts (``POST /v1/contacts``) are stored on this node when the database is
  PostgreSQL, and only their routing goes to the router (api/cluster/node_intake.py).
  ``ForwardToRouter`` sends every other request (after this node's size and rate limits)
  to the active router, which runs it through the same endpoints; no answer in time: 503
  with Retry-After, and the gateway's retry is idempotent.
- Desktop websocket: login and actions go to the router as commands; the agent's events
  come from its Redis stream, so the desktop may (re)connect to any node. When a new router
  takes over, each session logs in again on the agent's behalf and sends a fresh welcome.

While this node is the active router, its commands go to the router in its own process,
not through Redis (``Edge.call``, api/cluster/local_commands.py); the agents' events still
come from their streams.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.base.asgi_types import FORWARDED, ASGIApp, Receive, Scope, Send
from api.base.frames import BinaryFrame, receive_text
from api.base.paths import is_intake
from api.base.session_watch import SESSION_ENDED, watch_session
from api.base.sessions import SESSION_COOKIE, same_origin
from api.base.socket_closes import CLOSE_UNAUTHORIZED, CLOSE_UNAVAILABLE
from api.cluster.local_commands import LocalCommands
from api.desktop.protocol import Error, Login, Ping, Pong
from api.desktop.session import (
    CLOSE_REPLACED,
    BadMessage,
    SessionState,
    parse,
    receive_login,
)
from router.cluster.commands import CommandClient, RouterUnavailable, cancelling
from router.cluster.desk import DeskReader
from router.cluster.keys import Keys
from router.cluster.tail import tail_id
from router.ids import new_id

log = logging.getLogger("centralino.edge")

LOCAL_PATHS = frozenset({"/healthz"})
WALLBOARD_REFRESH = 1.0


class Edge:
    """This node's link to the active router."""

    def __init__(self, redis: Redis, keys: Keys, timeout: float) -> None:
        self.redis = redis
        self.keys = keys
        self.client = CommandClient(redis, keys, timeout)
        self.reader = DeskReader(redis, keys)
        self.timeout = timeout
        self.sessions: set[EdgeDesktopSession] = set()
        self.epoch = 0  # the newest router epoch this node has heard of
        # the router's commands in this process while this node routes (api/cluster/backend.py)
        self.local_router: Callable[[], LocalCommands | None] = lambda: None

    async def call(
        self,
        op: str,
        args: dict[str, Any],
        *,
        timeout: float | None = None,
        expires_in: float | None = None,
    ) -> dict[str, Any]:
        """``op``'s reply from the active router (CommandClient.call's ``timeout`` and
        ``expires_in``): while this node routes, from the router in this process with no
        Redis between (api/cluster/local_commands.py); else, or if that router stopped
        routing before the command finished, through the command stream. A reply given
        here after this node stopped routing is not given (RouterUnavailable, as the
        stream's fenced reply would not be): the caller retries, and the router active
        now answers."""
        wait = self.timeout if timeout is None else timeout
        local = self.local_router()
        if local is not None:
            started = time.monotonic()
            try:
                async with asyncio.timeout(wait):
                    reply = await local(op, args)
            except TimeoutError:
                raise RouterUnavailable(f"the router did not answer within {wait:g}s") from None
            if reply is not None:
                if self.local_router() is not local:
                    raise RouterUnavailable("the router stopped routing as it answered")
                return reply
            if expires_in is not None:  # a click keeps the time it had from the start
                expires_in -= time.monotonic() - started
                if expires_in <= 0:
                    return {"expired": True}
        return await self.client.call(op, args, timeout=timeout, expires_in=expires_in)

    async def watch_takeovers(self, block_ms: int | None = 1000) -> None:
        """Learn of new routers; each desktop session here then logs in to the new one. A
        read waits ``block_ms`` for news (None: not at all)."""
        last: str | None = None
        while True:
            if cancelling():  # redis-py may swallow a cancel in a read and return nothing
                raise asyncio.CancelledError
            try:
                if last is None:  # from now on, not "$": see router/cluster/tail.py
                    last = await tail_id(self.redis, self.keys.takeovers)
                answer: Any = await self.redis.xread({self.keys.takeovers: last}, block=block_ms)
            except RedisError as exc:
                if cancelling():  # a cancel redis-py turned into a connection error: stop
                    raise asyncio.CancelledError from exc
                log.warning("cannot watch router takeovers: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for _key, entries in answer or []:
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    self.epoch = max(self.epoch, int(fields[b"epoch"]))


class ForwardToRouter:
    """ASGI middleware: run HTTP requests on the active router (see module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get(FORWARDED) or scope["path"] in LOCAL_PATHS:
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        if is_intake(scope) and hasattr(state, "node_intake"):
            await self.app(scope, receive, send)  # stored on this node: api/cluster/node_intake.py
            return
        edge: Edge = scope["app"].state.edge
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request = {
            "method": scope["method"],
            "scheme": scope.get("scheme", "http"),
            "path": scope["path"],
            "raw_path": (scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            "query": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "body": base64.b64encode(b"".join(chunks)).decode(),
            "client": list(scope["client"]) if scope.get("client") else None,
            "server": list(scope["server"]) if scope.get("server") else None,
        }
        try:
            reply = await edge.call("http", request)
        except RouterUnavailable as exc:
            response = JSONResponse(
                {"detail": f"no active router right now, retry: {exc}"},
                503,
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        if "status" not in reply:  # the router could not run it at all
            response = JSONResponse({"detail": "the router could not handle this request"}, 502)
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": reply["status"],
                "headers": [
                    (k.encode("latin-1"), v.encode("latin-1")) for k, v in reply["headers"]
                ],
            }
        )
        await send({"type": "http.response.body", "body": base64.b64decode(reply["body"])})


class EdgeDesktopSession:
    """The agent's websocket on this node; the same protocol as the embedded one."""

    def __init__(self, websocket: WebSocket, edge: Edge) -> None:
        self.websocket = websocket
        self.edge = edge
        self.session = new_id()
        self.state = SessionState.AWAITING_LOGIN
        self.agent_id = ""
        self.token = ""
        self.cookie = ""  # a signed-in browser's session, checked by the router
        self.seq = 0
        self.control_after = "0"
        self.presence = "available"
        self.epoch = 0
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(message)

    async def login(self, timeout: float) -> bool:
        message = await receive_login(self, timeout)
        if message is None:
            return False
        self.token = message.token
        if not self.token and same_origin(self.websocket.headers):
            self.cookie = self.websocket.cookies.get(SESSION_COOKIE, "")
        login = await self._login_call(message.presence, message.ref)
        if login is None:
            return False
        welcome = login["welcome"]
        missed = None
        if message.resume is not None and message.resume.stream == welcome["stream"]:
            missed = await self.edge.reader.since(
                self.agent_id, message.resume.after_seq, welcome["seq"]
            )
        welcome["resumed"] = missed is not None
        await self.send(welcome)
        for event in missed or []:
            await self.send(event)
        self.state = SessionState.ACTIVE
        self.edge.sessions.add(self)
        return True

    async def _login_call(self, presence: str, ref: str | None = None) -> dict[str, Any] | None:
        """Log in at the active router; None (and the socket closed) if that failed."""
        args = {
            "token": self.token,
            "cookie": self.cookie,
            "presence": presence,
            "session": self.session,
            "ref": ref,
        }
        try:
            reply = await self.edge.call("desktop.login", args)
        except RouterUnavailable as exc:
            await self.send(Error(ref=ref, code="unavailable", message=str(exc)).model_dump())
            await self.close(CLOSE_UNAVAILABLE, "router unavailable, try again")
            return None
        if "error" in reply:
            await self.send(reply["error"])
            if reply["error"].get("code") == "unavailable":  # the login could not be checked
                await self.close(CLOSE_UNAVAILABLE, "try again later")
            else:
                await self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return None
        self.agent_id = reply["agent_id"]
        self.control_after = reply["control_after"]
        self.epoch = reply["epoch"]
        self.seq = reply["welcome"]["seq"]
        self.presence = reply["welcome"]["state"]["presence"]
        return reply

    async def pump(self) -> None:
        """Forward the agent's stream; close when a newer login replaced this session."""
        reader = self.edge.reader
        while True:
            if self.edge.epoch > self.epoch:
                await self._follow_new_router()
            read = await reader.wait(self.agent_id, self.seq, self.control_after, block_ms=1000)
            self.control_after = read.control_after
            if any(session != self.session for session in read.sessions):
                await self.close(CLOSE_REPLACED, "logged in elsewhere")
                return
            for event in read.events:
                if event["seq"] <= self.seq:
                    continue
                self.seq = event["seq"]
                if event.get("type") == "presence":
                    self.presence = event["presence"]
                await self.send(event)

    async def _follow_new_router(self) -> None:
        """A new router took over: log in there, keeping the agent's presence, and give the
        desktop a fresh welcome (the state as the new router knows it)."""
        presence = self.presence if self.presence in ("available", "away") else "available"
        reply = await self._login_call(presence)
        if reply is None:
            raise WebSocketDisconnect(CLOSE_UNAVAILABLE)
        welcome = reply["welcome"]
        welcome["resumed"] = False
        await self.send(welcome)

    async def serve(self) -> None:
        while True:
            try:
                raw = await receive_text(self.websocket)
                message = parse(raw)
            except BadMessage as exc:
                await self.send(exc.reply())
                continue
            except BinaryFrame as exc:
                await self.send(BadMessage(str(exc)).reply())
                continue
            if isinstance(message, Ping):
                await self.send(Pong(ref=message.ref).model_dump())
                continue
            if isinstance(message, Login):
                await self.send(
                    Error(
                        ref=message.ref,
                        code="already_logged_in",
                        message="this connection is already logged in",
                    ).model_dump()
                )
                continue
            args = {"agent_id": self.agent_id, "session": self.session, "message": raw}
            try:
                reply = await self.edge.call("desktop.act", args, expires_in=self.edge.timeout)
            except RouterUnavailable as exc:
                reply = Error(ref=message.ref, code="unavailable", message=str(exc)).model_dump()
            if reply.get("expired"):
                reply = Error(
                    ref=message.ref, code="unavailable", message="the router was changing, retry"
                ).model_dump()
            await self.send(reply)

    async def close(self, code: int, reason: str) -> None:
        if self.state is not SessionState.CLOSED:
            self.state = SessionState.CLOSED
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code, reason)

    async def detach(self) -> None:
        self.edge.sessions.discard(self)
        if not self.agent_id:
            return
        with contextlib.suppress(RouterUnavailable):
            await self.edge.call(
                "desktop.disconnect",
                {"agent_id": self.agent_id, "session": self.session},
                timeout=2.0,
            )


async def serve_desktop(websocket: WebSocket, edge: Edge, login_timeout: float) -> None:
    session = EdgeDesktopSession(websocket, edge)
    tasks: list[asyncio.Task[None]] = []
    try:
        if not await session.login(login_timeout):
            return
        tasks = [asyncio.create_task(session.pump()), asyncio.create_task(session.serve())]
        if session.cookie:  # signed in by session: only while it holds
            agent_id = session.agent_id
            watch = asyncio.create_task(
                watch_session(
                    websocket.app,
                    session.cookie,
                    lambda p: p.agent_id == agent_id,
                    websocket.app.state.settings.session_check_interval,
                )
            )
            tasks.append(watch)
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if len(tasks) == 3 and tasks[2] in done and tasks[2].exception() is None:
            await session.send(SESSION_ENDED)
            await session.close(CLOSE_UNAUTHORIZED, "session ended")
    except (WebSocketDisconnect, RuntimeError):
        pass
    except RedisError as exc:  # Redis went away while logging in: the desktop retries
        log.warning("desktop login ended by a Redis error: %s", exc)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, RedisError):
                log.warning("desktop session ended by a Redis error: %s", result)
        session.state = SessionState.CLOSED
        await session.close(CLOSE_UNAVAILABLE, "closing")
        await session.detach()


async def serve_wallboard(websocket: WebSocket, edge: Edge, closed: asyncio.Task[None]) -> None:
    """Push the active router's wallboard snapshot while the page stays."""
    last = None
    while not closed.done():
        try:
            snapshot = await edge.call("wallboard.snapshot", {}, timeout=edge.timeout)
        except RouterUnavailable as exc:
            snapshot = {"type": "error", "code": "unavailable", "message": str(exc)}
        if snapshot != last:
            await websocket.send_json(snapshot)
            last = snapshot
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WALLBOARD_REFRESH):
                await asyncio.shield(closed)


class ForwardingSmtpHandler:
    """aiosmtpd handler of a node: the message is stored and routed by the active router
    before 250 is sent; if no router answers, 451 makes the sending server retry."""

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        try:
            reply = await self.edge.call("smtp", {"raw": base64.b64encode(raw).decode()})
        except RouterUnavailable:
            return "451 4.3.0 router unavailable, try again later"
        return str(reply.get("reply", "451 4.3.0 try again later"))
