"""Web chat: the customer's websocket and the embeddable widget page.

A chat session moves through explicit states: AWAITING_START -> WAITING (queued or
offered) -> CONNECTED (an agent accepted) -> CLOSED. The customer's messages reach the
agent's desktop; the agent's replies reach the customer. A customer who leaves before an
agent answered has abandoned; after that, leaving ends the conversation (wrap-up).

Customer -> server: {"type": "start", "text", "name"?, "email"?, "phone"?, "language"?,
"identity"?}, {"type": "message", "text"}, {"type": "callback", "number"?, "at"?}
(api/chat/callback.py), {"type": "leave"}; after a dropped connection,
{"type": "resume", "session", "token"} as the first message (api/chat/resume.py).
Server -> customer: {"type": "started", "session", "contact_id", "verified",
"resume_token"?, "notice"? (closed now: when we open), "estimated_wait" (seconds|null)},
{"type": "resumed", "session", "contact_id"},
{"type": "agent_joined", "agent"}, {"type": "message", "from": "agent", "agent", "text"},
{"type": "wait", "seconds"} (an estimate, once known: api/chat/estimate.py),
{"type": "transferred"}, {"type": "ended"}, {"type": "error", "code", "message"}.

Who the customer is comes only from ``identity``, signed by the embedding site
(api/chat/guard.py); a claimed email or phone without it makes a fresh, unverified
customer. Chat starts and messages are rate-limited (``rate_limited`` errors; a refused
message is not delivered, the chat goes on); a malformed frame gets ``bad_message`` and the
chat goes on too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

from api.base.frames import receive_text
from api.base.headers import frame_ancestors, page
from api.base.socket_closes import close_try_again
from api.chat.callback import AskCallback, ask_callback
from api.chat.estimate import WaitEstimates
from api.chat.guard import CLOSE_RATE_LIMITED, ChatGuard, RateLimited, SignedIdentityIn
from api.chat.resume import CLOSE_BAD_RESUME, ParkedChats, Resume
from channels.base import ChannelError, Inbound
from channels.contact import InboundContact, IntakeError
from channels.strict_json import UnsafeJson, loads
from router.decisions import Assigned, Completed, Decisions, Queued, Transferred, WrapUpStarted
from router.dispatch import Dispatcher
from router.ids import new_id
from router.intake import ContactGone
from router.runtime import RouterRuntime
from router.store.errors import StoreError
from skills.vocabulary import Channel

router = APIRouter(tags=["chat"])
GATEWAY = "webchat"
log = logging.getLogger("centralino.chat")

CLOSE_ORIGIN = 4403
CLOSE_BAD_START = 4400


class ChatState(StrEnum):
    AWAITING_START = "awaiting_start"
    WAITING = "waiting"
    CONNECTED = "connected"
    CLOSED = "closed"


class Start(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["start"]
    text: str = Field(min_length=1, max_length=4000)
    name: str = Field("", max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, min_length=3, max_length=40)
    language: str | None = Field(None, min_length=2, max_length=8, pattern=r"^[A-Za-z-]+$")
    identity: SignedIdentityIn | None = Field(
        None, description="the embedding site's signed statement of who this customer is"
    )


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["message"]
    text: str = Field(min_length=1, max_length=4000)


class Leave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["leave"]


CUSTOMER_MESSAGE: TypeAdapter[Any] = TypeAdapter(
    Annotated[Start | Say | Leave | Resume | AskCallback, Field(discriminator="type")]
)


def thread(session: str) -> str:
    return f"chat:{session}"


class ChatPeer:
    """What the hub needs of a customer's live chat: its state, and a way to tell it."""

    state: ChatState
    contact_id: str

    def push(self, message: dict[str, Any]) -> None:
        raise NotImplementedError


class ChatSession(ChatPeer):
    """The customer's websocket in this process."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.state = ChatState.AWAITING_START
        self.session = new_id()
        self.contact_id = ""
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def push(self, message: dict[str, Any]) -> None:
        if self.state is not ChatState.CLOSED:
            self.outbox.put_nowait(message)


class ChatHub:
    """Live customer chat sessions by contact id; tells customers what happens to them."""

    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime
        self.sessions: dict[str, ChatPeer] = {}
        self.waits = WaitEstimates()
        runtime.listen(self.on_decisions)

    def announce_wait(self, contact_id: str) -> None:
        """Tell a waiting customer how long it should take, when there is an estimate."""
        session = self.sessions.get(contact_id)
        contact = self.runtime.engine.contacts.get(contact_id)
        if session is None or contact is None or contact.agent_id is not None:
            return
        waited = self.runtime.clock() - contact.arrival
        seconds = self.waits.estimate(contact.policy.queue, waited)
        if seconds is not None:
            session.push({"type": "wait", "seconds": seconds})

    def on_decisions(self, now: float, decisions: Decisions) -> None:
        for decision in decisions:
            if isinstance(decision, Assigned):
                contact = self.runtime.engine.contacts.get(decision.contact_id)
                if contact is not None and contact.channel is Channel.CHAT:
                    self.waits.answered(contact.policy.queue, decision.waited)
            elif isinstance(decision, Queued) and decision.reason != "arrival":
                self.announce_wait(decision.contact_id)
            session = self.sessions.get(getattr(decision, "contact_id", ""))
            if session is None:
                continue
            if isinstance(decision, Assigned):
                session.state = ChatState.CONNECTED
                agent = self.runtime.engine.agents.get(decision.agent_id)
                name = agent.profile.name if agent and agent.profile.name else decision.agent_id
                session.push({"type": "agent_joined", "agent": name})
            elif isinstance(decision, Transferred):
                session.state = ChatState.WAITING
                session.push({"type": "transferred"})
            elif isinstance(decision, WrapUpStarted | Completed):
                session.push({"type": "ended"})

    def deliver(self, contact_id: str, agent_name: str, text: str) -> bool:
        session = self.sessions.get(contact_id)
        if session is None or session.state is ChatState.CLOSED:
            return False
        session.push({"type": "message", "from": "agent", "agent": agent_name, "text": text})
        return True


def origin_allowed(websocket: WebSocket, allowed: str) -> bool:
    """A browser's page may open the chat if its origin is listed, or is this server's own
    (the widget served at /chat, e.g. in an iframe). ``*`` allows any page."""
    listed = {item.strip() for item in allowed.split(",") if item.strip()}
    if "*" in listed:
        return True
    origin = websocket.headers.get("origin", "")
    if origin in listed:
        return True
    host = websocket.headers.get("host", "")
    return bool(host) and origin.partition("://")[2] == host


NOT_STARTED = "the chat could not start now: try again in a moment"


def not_delivered(exc: Exception) -> dict[str, Any]:
    """The frame for a customer's message that was not stored: send it again."""
    return {
        "type": "error",
        "code": "unavailable",
        "message": f"message not delivered, send it again: {exc}",
    }


async def _error(websocket: WebSocket, code: str, message: str) -> None:
    await websocket.send_json({"type": "error", "code": code, "message": message})


def parse_customer(raw: str) -> Any:
    """A customer's message (Start, Say or Leave); ValueError with a readable reason."""
    try:
        return CUSTOMER_MESSAGE.validate_python(loads(raw))
    except UnsafeJson as exc:
        raise ValueError(str(exc)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(
            f"{'.'.join(map(str, first['loc'])) or 'message'}: {first['msg']}"
        ) from exc


def started_contact(session: str, start: Start, guard: ChatGuard) -> Inbound:
    """The new contact a chat's start message makes (the session id is its message id);
    its customer is the one the site signed for, else a fresh unverified one."""
    customer = guard.customer(
        session,
        start.name,
        str(start.email) if start.email else None,
        start.phone,
        start.identity,
    )
    contact = InboundContact(
        gateway=GATEWAY,
        external_id=session,
        channel=Channel.CHAT,
        customer=customer,
        language_hint=start.language,  # the browser locale: the text decides, it breaks ties
        text=start.text,
    )
    return Inbound(contact, (thread(session),))


async def _open(
    websocket: WebSocket, dispatcher: Dispatcher, guard: ChatGuard, timeout: float
) -> ChatSession | None:
    """The chat this socket serves: a new one (start) or a parked one (resume)."""
    parked: ParkedChats[ChatSession] = websocket.app.state.chat_parked
    try:
        async with asyncio.timeout(timeout):
            raw = await receive_text(websocket)
        guard.check_start(guard.address(websocket))
        first = parse_customer(raw)
        if isinstance(first, Resume):
            return await _resume(websocket, first, parked)
        if not isinstance(first, Start):
            raise ValueError("the first message must be a start")
    except TimeoutError:
        await websocket.close(CLOSE_BAD_START, "no start message")
        return None
    except RateLimited as exc:
        await websocket.send_json(exc.frame())
        await websocket.close(CLOSE_RATE_LIMITED, "rate limited")
        return None
    except ValueError as exc:
        await _error(websocket, "bad_message", str(exc))
        await websocket.close(CLOSE_BAD_START, "bad start message")
        return None
    session = ChatSession(websocket)
    inbound = started_contact(session.session, first, guard)
    try:
        result = await dispatcher.start(inbound)
    except (ChannelError, IntakeError) as exc:
        await _error(websocket, "bad_message", str(exc))
        await websocket.close(CLOSE_BAD_START, "bad start message")
        return None
    except StoreError as exc:  # not stored: nothing started, the customer tries again
        log.error("a chat could not start: %s", exc)
        await close_try_again(websocket, NOT_STARTED)
        return None
    session.contact_id = result["contact_id"]
    session.state = ChatState.WAITING
    started = {
        "type": "started",
        "session": session.session,
        "contact_id": session.contact_id,
        "verified": inbound.contact.customer.verified,
    }
    if result.get("notice"):  # the queue is closed: when it opens (after-hours policy)
        started["notice"] = result["notice"]
    started["estimated_wait"] = result.get("estimated_wait")  # seconds, or null: unknown
    if parked.enabled:
        started["resume_token"] = parked.issue(session.session)
    await websocket.send_json(started)
    return session


async def _resume(
    websocket: WebSocket, resume: Resume, parked: ParkedChats[ChatSession]
) -> ChatSession | None:
    session = parked.claim(resume.session, resume.token)
    if session is None:
        await _error(websocket, "bad_resume", "no chat to resume with this session and token")
        await websocket.close(CLOSE_BAD_RESUME, "bad resume")
        return None
    session.websocket = websocket
    await websocket.send_json(
        {"type": "resumed", "session": session.session, "contact_id": session.contact_id}
    )
    return session


async def _pump(session: ChatSession) -> None:
    while True:
        await session.websocket.send_json(await session.outbox.get())


async def _listen(session: ChatSession, dispatcher: Dispatcher, guard: ChatGuard) -> None:
    address = guard.address(session.websocket)
    while True:
        try:
            message = parse_customer(await receive_text(session.websocket))
        except ValueError as exc:
            await _error(session.websocket, "bad_message", str(exc))
            continue
        if isinstance(message, Leave):
            return
        if isinstance(message, Start | Resume):
            await _error(session.websocket, "already_started", "this chat has started")
            continue
        try:
            guard.check_message(address, session.session)
        except RateLimited as exc:
            session.push(exc.frame())
            continue
        if isinstance(message, AskCallback):
            args = message.args()
            session.push(
                await ask_callback(dispatcher, session.contact_id, args["number"], args["at"])
            )
            continue
        try:
            await dispatcher.message(session.contact_id, message.text, "message")
        except StoreError as exc:  # not stored: the customer is told, the chat goes on
            log.error("a chat message could not be stored: %s", exc)
            session.push(not_delivered(exc))
        except ContactGone:  # its record was erased (the customer's data): nothing is stored
            log.info("a chat message for an erased contact was not stored; the chat ends")
            await session.websocket.send_json({"type": "ended"})
            return


async def chat(websocket: WebSocket) -> None:
    app = websocket.app
    settings = app.state.settings
    if not origin_allowed(websocket, settings.chat_origins):
        await websocket.close(CLOSE_ORIGIN, "origin not allowed")
        return
    await websocket.accept()
    await app.state.backend.serve_chat(websocket)


async def serve_chat(websocket: WebSocket) -> None:
    """An accepted chat socket, served by the router in this process."""
    app = websocket.app
    dispatcher: Dispatcher = app.state.dispatcher
    guard: ChatGuard = app.state.chat_guard
    parked: ParkedChats[ChatSession] = app.state.chat_parked
    session = await _open(websocket, dispatcher, guard, app.state.settings.login_timeout)
    if session is None:
        return
    app.state.chat.sessions[session.contact_id] = session
    app.state.chat.announce_wait(session.contact_id)
    try:
        left = await _converse(session, dispatcher, guard)
    except asyncio.CancelledError:
        await _finish(session)
        raise
    if not left and parked.enabled:  # the connection dropped: wait for a resume
        parked.park(session.session, session, lambda: _finish(session))
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
        return
    await _finish(session)


async def _converse(session: ChatSession, dispatcher: Dispatcher, guard: ChatGuard) -> bool:
    """Until the socket ends; True if the customer said goodbye (leave)."""
    tasks = [
        asyncio.create_task(_pump(session)),
        asyncio.create_task(_listen(session, dispatcher, guard)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    listen = tasks[1]
    return not listen.cancelled() and listen.exception() is None


async def _finish(session: ChatSession) -> None:
    """The customer is gone for good: abandon or end the contact."""
    app = session.websocket.app
    dispatcher: Dispatcher = app.state.dispatcher
    session.state = ChatState.CLOSED
    app.state.chat.sessions.pop(session.contact_id, None)
    app.state.chat_guard.closed(session.session)
    app.state.chat_parked.forget(session.session)
    with contextlib.suppress(KeyError):  # the customer left: abandon or end it
        await dispatcher.end(session.contact_id)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await session.websocket.close()


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def widget(request: Request) -> HTMLResponse:
    """The embeddable chat widget (no build step): open /chat, or iframe it from one of the
    chat origins (the only sites allowed to frame it)."""
    return page("chat.html", frame_ancestors(request.app.state.settings.chat_origins))
