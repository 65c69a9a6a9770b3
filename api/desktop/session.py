"""The agent-desktop websocket: log in, then receive offers and act on them.

A session moves through explicit states: AWAITING_LOGIN -> ACTIVE -> CLOSED. Every client
message gets an ``ack`` or an ``error`` (with the client's ``ref``); events that concern
the agent arrive on its sequenced stream (see api/desktop/hub.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from enum import StrEnum
from typing import Any, Protocol

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from api.base.frames import BinaryFrame, receive_text, send_texts
from api.base.session_watch import SESSION_ENDED, watch_session
from api.base.sessions import SESSION_COOKIE, principal_from_cookies, same_origin
from api.base.socket_closes import CLOSE_UNAUTHORIZED, CLOSE_UNAVAILABLE
from api.chat.session import ChatHub
from api.desktop.hub import RELOADED, Delivery, DesktopHub, Outbox
from api.desktop.protocol import (
    CLIENT_MESSAGE,
    Error,
    Login,
    Welcome,
)
from api.desktop.requests import perform
from channels import strict_json
from router.replies import ReplyOutbox
from router.runtime import RouterRuntime
from router.states import Presence
from router.store.errors import StoreError
from router.views import agent_view

log = logging.getLogger("centralino.desktop")

CLOSE_LOGIN_TIMEOUT = 4408
CLOSE_REPLACED = 4001
CLOSE_RELOADED = 1012  # "service restart": reconnect and log in again


class SessionState(StrEnum):
    AWAITING_LOGIN = "awaiting_login"
    ACTIVE = "active"
    CLOSED = "closed"


def describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return f"{where}: {first['msg']}"


class BadMessage(ValueError):
    def __init__(self, reason: str, ref: str | None = None) -> None:
        super().__init__(reason)
        self.ref = ref

    def reply(self) -> dict[str, Any]:
        return Error(ref=self.ref, code="bad_message", message=str(self)).model_dump()


def parse(raw: str) -> Any:
    """A validated client message; raises BadMessage with a readable reason."""
    try:
        data = strict_json.loads(raw)
    except strict_json.UnsafeJson as exc:
        raise BadMessage(str(exc)) from exc
    if not isinstance(data, dict):
        raise BadMessage("a message must be a JSON object with a 'type'")
    ref = data.get("ref")
    ref = ref if isinstance(ref, str) and len(ref) <= 64 else None
    try:
        return CLIENT_MESSAGE.validate_python(data)
    except ValidationError as exc:
        raise BadMessage(describe(exc), ref) from exc


def as_text(message: dict[str, Any]) -> str:
    """A message's JSON text, as ``WebSocket.send_json`` writes it."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


class LoginSocket(Protocol):
    websocket: WebSocket

    async def send(self, message: dict[str, Any]) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


async def receive_login(session: LoginSocket, timeout: float) -> Login | None:
    """The connection's first message, which must be a valid login; otherwise the reason
    is sent, the socket closed and None returned."""
    try:
        async with asyncio.timeout(timeout):
            text = await receive_text(session.websocket)
        message = parse(text)
    except TimeoutError:
        await session.close(CLOSE_LOGIN_TIMEOUT, "login timed out")
        return None
    except (BadMessage, BinaryFrame) as exc:
        await session.send(
            exc.reply() if isinstance(exc, BadMessage) else BadMessage(str(exc)).reply()
        )
        await session.close(CLOSE_UNAUTHORIZED, "login required")
        return None
    if not isinstance(message, Login):
        await session.send(
            Error(
                ref=message.ref, code="login_required", message="the first message must be a login"
            ).model_dump()
        )
        await session.close(CLOSE_UNAUTHORIZED, "login required")
        return None
    return message


async def agent_for_token(runtime: RouterRuntime, token: str) -> str | None:
    """The agent this desktop token belongs to, if the token is current and the agent is
    on the roster."""
    agent_id = await runtime.token_reads.read(token)
    return agent_id if agent_id is not None and agent_id in runtime.engine.agents else None


async def agent_for_session(websocket: WebSocket, runtime: RouterRuntime) -> str | None:
    """The agent of the browser's signed-in session (a same-origin handshake only)."""
    if not same_origin(websocket.headers):
        return None
    principal = await principal_from_cookies(websocket.app, websocket.cookies)
    if principal is None or principal.agent_id is None:
        return None
    return principal.agent_id if principal.agent_id in runtime.engine.agents else None


def unauthorized(ref: str | None) -> dict[str, Any]:
    return Error(ref=ref, code="unauthorized", message="unknown or revoked token").model_dump()


def unavailable(ref: str | None) -> dict[str, Any]:
    return Error(
        ref=ref, code="unavailable", message="the login could not be checked now: log in again"
    ).model_dump()


class DesktopSession:
    def __init__(
        self,
        websocket: WebSocket,
        runtime: RouterRuntime,
        hub: DesktopHub,
        customers: ChatHub,
        replies: ReplyOutbox | None = None,
    ) -> None:
        self.websocket = websocket
        self.runtime = runtime
        self.hub = hub
        self.customers = customers
        self.replies = replies
        self.state = SessionState.AWAITING_LOGIN
        self.agent_id = ""
        self.cookie = ""  # set when signed in by a browser session (then watched)
        self.outbox: Outbox = asyncio.Queue()
        self.held: list[Delivery] = []  # taken from the outbox, not yet written
        self.hold = 0  # how many of the first held (or queued) wait for a request's reply

    async def send(self, message: dict[str, Any]) -> None:
        await self.websocket.send_json(message)

    async def login(self, timeout: float) -> bool:
        message = await receive_login(self, timeout)
        if message is None:
            return False
        try:
            if message.token:
                agent_id = await agent_for_token(self.runtime, message.token)
            else:
                agent_id = await agent_for_session(self.websocket, self.runtime)
                self.cookie = self.websocket.cookies.get(SESSION_COOKIE, "")
        except StoreError as exc:
            log.error("a desktop login could not be checked: %s", exc)
            await self.send(unavailable(message.ref))
            await self.close(CLOSE_UNAVAILABLE, "try again later")
            return False
        if agent_id is None:
            await self.send(unauthorized(message.ref))
            await self.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return False
        self.agent_id = agent_id
        engine = self.runtime.engine
        # From here to the presence change nothing awaits: the snapshot, the replay and
        # the live stream meet exactly, with no event lost or sent twice. What logging in
        # sets off (presence, offers for waiting contacts) follows the welcome as events.
        self.runtime.submit(lambda now: engine.connected(self.agent_id, now))
        agent = engine.agents[self.agent_id]
        stream = self.hub.stream(self.agent_id)
        missed = None
        if message.resume is not None and message.resume.stream == stream.stream_id:
            missed = stream.missed_since(message.resume.after_seq)
        welcome = Welcome(
            stream=stream.stream_id,
            seq=stream.seq,
            resumed=missed is not None,
            agent=agent_view(agent, self.runtime.clock()),
            state=self.hub.agent_state(self.agent_id),
        )
        _stream, previous = self.hub.attach(self.agent_id, self.outbox)
        if previous is not None:
            previous.put_nowait(None)  # tells the older connection to close
        if agent.presence is Presence.OFFLINE:
            wanted = Presence(message.presence)
            self.runtime.submit(lambda now: engine.set_presence(self.agent_id, wanted, now))
        await send_texts(
            self.websocket, [as_text(welcome.model_dump(mode="json")), *(missed or [])]
        )
        self.state = SessionState.ACTIVE
        return True

    async def pump(self) -> None:
        """Write the agent's stream and the replies to its requests to the socket, in the
        order they were queued, until told to stop; the only writer once logged in. What
        is ready at once goes out in one write (``send_texts``). The events a request set
        off (``hold``) wait for its reply and go out with it: accepting an offer ends it,
        assigns the contact and is acknowledged, three messages in one write. Anything
        else queued meanwhile (an offer, a customer's message) goes out at once, with
        whatever was held before it."""
        while True:
            delivery = await self.outbox.get()
            while True:  # and whatever else is ready
                if delivery is None or delivery is RELOADED:
                    await self._write()  # what came before it
                    if delivery is None:
                        await self.close(CLOSE_REPLACED, "logged in elsewhere")
                    else:
                        await self.close(CLOSE_RELOADED, "routing state reloaded: log in again")
                    return
                self.held.append(delivery)
                if self.outbox.empty():
                    break
                delivery = self.outbox.get_nowait()
            if len(self.held) > self.hold or any(held.offer for held in self.held):
                await self._write()

    async def _write(self) -> None:
        """Everything held, in one write."""
        held, self.held, self.hold = self.held, [], 0
        await send_texts(self.websocket, [delivery.text for delivery in held])
        for delivery in held:
            if delivery.arrival is not None:
                self._offer_sent(delivery.arrival)
            if delivery.sent is not None and not delivery.sent.done():
                delivery.sent.set_result(None)

    def _offer_sent(self, arrival: float) -> None:
        """/metrics' ``centralino_offer_sent_seconds``: from the contact's arrival to now."""
        if self.runtime.observe_offer_sent is not None:
            self.runtime.observe_offer_sent(max(0.0, self.runtime.clock() - arrival))

    def _applied(self) -> None:
        """A request's action was applied: what it set off is queued now (the engine
        decides at once), and waits for the request's reply (``pump``)."""
        self.hold = len(self.held) + self.outbox.qsize()

    async def reply(self, message: dict[str, Any]) -> None:
        """A reply to a request, after everything queued before it (the events the request
        set off among them); returns once written."""
        sent = asyncio.get_running_loop().create_future()
        self.hold = 0
        self.outbox.put_nowait(Delivery(as_text(message), sent=sent))
        await sent

    async def serve(self) -> None:
        while True:
            try:
                message = parse(await receive_text(self.websocket))
            except BadMessage as exc:
                await self.reply(exc.reply())  # echoes the client's ref when it had one
                continue
            except BinaryFrame as exc:
                await self.reply(BadMessage(str(exc)).reply())
                continue
            answer = await perform(
                self.runtime,
                self.customers,
                self.agent_id,
                message,
                replies=self.replies,
                applied=self._applied,
            )
            await self.reply(answer)  # (which ends the hold)

    async def close(self, code: int, reason: str) -> None:
        if self.state is not SessionState.CLOSED:
            self.state = SessionState.CLOSED
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await self.websocket.close(code, reason)

    def detach(self) -> None:
        if self.agent_id and self.hub.detach(self.agent_id, self.outbox):
            engine = self.runtime.engine
            if self.agent_id in engine.agents:
                self.runtime.submit(lambda now: engine.disconnected(self.agent_id, now))


async def desktop(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.app.state.backend.serve_desktop(websocket)


async def serve_desktop(websocket: WebSocket) -> None:
    """An accepted desktop socket, served by the router in this process."""
    app = websocket.app
    session = DesktopSession(
        websocket, app.state.runtime, app.state.hub, app.state.chat, app.state.replies
    )
    pump: asyncio.Task[None] | None = None
    try:
        if not await session.login(app.state.settings.login_timeout):
            return
        pump = asyncio.create_task(session.pump())
        serve = asyncio.create_task(session.serve())
        tasks = [pump, serve]
        if session.cookie:
            agent_id = session.agent_id
            tasks.append(
                asyncio.create_task(
                    watch_session(
                        app,
                        session.cookie,
                        lambda p: p.agent_id == agent_id,
                        app.state.settings.session_check_interval,
                    )
                )
            )
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task not in done:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if len(tasks) == 3 and tasks[2] in done and tasks[2].exception() is None:
            await session.send(SESSION_ENDED)
            await session.close(CLOSE_UNAUTHORIZED, "session ended")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        session.state = SessionState.CLOSED
        session.detach()
