"""Web chat: the customer's websocket and the embeddable widget page.

A chat session moves through explicit states: AWAITING_START -> WAITING (queued or
offered) -> CONNECTED (an agent accepted) -> CLOSED. The customer's messages reach the
agent's desktop; the agent's replies reach the customer. A customer who leaves before an
agent answered has abandoned; after that, leaving ends the conversation (wrap-up).

Customer -> server: {"type": "start", "text", "name"?, "email"?, "phone"?, "language"?},
{"type": "message", "text"}, {"type": "leave"}.
Server -> customer: {"type": "started", "session", "contact_id"}, {"type": "agent_joined",
"agent"}, {"type": "message", "from": "agent", "agent", "text"}, {"type": "transferred"},
{"type": "ended"}, {"type": "error", "code", "message"}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

from api.base.frames import receive_text
from channels.base import ChannelError, Ended, Inbound, Message
from channels.contact import CustomerRef, InboundContact, IntakeError
from router.decisions import Assigned, Completed, Decisions, Transferred, WrapUpStarted
from router.dispatch import Dispatcher
from router.runtime import RouterRuntime
from skills.vocabulary import Channel

router = APIRouter(tags=["chat"])
GATEWAY = "webchat"
WIDGET = Path(__file__).parent.parent / "static" / "chat.html"
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


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["message"]
    text: str = Field(min_length=1, max_length=4000)


class Leave(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["leave"]


CUSTOMER_MESSAGE: TypeAdapter[Any] = TypeAdapter(
    Annotated[Start | Say | Leave, Field(discriminator="type")]
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
        self.session = uuid.uuid4().hex
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
        runtime.listen(self.on_decisions)

    def on_decisions(self, now: float, decisions: Decisions) -> None:
        for decision in decisions:
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
    if allowed.strip() == "*":
        return True
    origin = websocket.headers.get("origin", "")
    return origin in {item.strip() for item in allowed.split(",") if item.strip()}


async def _error(websocket: WebSocket, code: str, message: str) -> None:
    await websocket.send_json({"type": "error", "code": code, "message": message})


def parse_customer(raw: str) -> Any:
    """A customer's message (Start, Say or Leave); ValueError with a readable reason."""
    try:
        return CUSTOMER_MESSAGE.validate_python(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(
            f"{'.'.join(map(str, first['loc'])) or 'message'}: {first['msg']}"
        ) from exc


def started_contact(session: str, start: Start) -> Inbound:
    """The new contact a chat's start message makes (the session id is its message id)."""
    contact = InboundContact(
        gateway=GATEWAY,
        external_id=session,
        channel=Channel.CHAT,
        customer=CustomerRef(
            name=start.name, email=str(start.email) if start.email else None, phone=start.phone
        ),
        language=start.language.lower() if start.language else None,
        text=start.text,
    )
    return Inbound(contact, (thread(session),))


async def _start(session: ChatSession, dispatcher: Dispatcher, timeout: float) -> bool:
    websocket = session.websocket
    try:
        start = parse_customer(await asyncio.wait_for(receive_text(websocket), timeout))
        if not isinstance(start, Start):
            raise ValueError("the first message must be a start")
    except TimeoutError:
        await websocket.close(CLOSE_BAD_START, "no start message")
        return False
    except ValueError as exc:
        await _error(websocket, "bad_message", str(exc))
        await websocket.close(CLOSE_BAD_START, "bad start message")
        return False
    try:
        (result,) = await dispatcher.apply([started_contact(session.session, start)])
    except (ChannelError, IntakeError) as exc:
        await _error(websocket, "bad_message", str(exc))
        await websocket.close(CLOSE_BAD_START, "bad start message")
        return False
    session.contact_id = result["contact_id"]
    session.state = ChatState.WAITING
    await websocket.send_json(
        {"type": "started", "session": session.session, "contact_id": session.contact_id}
    )
    return True


async def _pump(session: ChatSession) -> None:
    while True:
        await session.websocket.send_json(await session.outbox.get())


async def _listen(session: ChatSession, dispatcher: Dispatcher) -> None:
    while True:
        try:
            message = parse_customer(await receive_text(session.websocket))
        except ValueError as exc:
            await _error(session.websocket, "bad_message", str(exc))
            continue
        if isinstance(message, Leave):
            return
        if isinstance(message, Start):
            await _error(session.websocket, "already_started", "this chat has started")
            continue
        await dispatcher.apply([Message(GATEWAY, thread(session.session), message.text)])


@router.websocket("/v1/chat")
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
    settings = app.state.settings
    hub: ChatHub = app.state.chat
    dispatcher: Dispatcher = app.state.dispatcher
    session = ChatSession(websocket)
    if not await _start(session, dispatcher, settings.login_timeout):
        return
    hub.sessions[session.contact_id] = session
    tasks = [asyncio.create_task(_pump(session)), asyncio.create_task(_listen(session, dispatcher))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        session.state = ChatState.CLOSED
        hub.sessions.pop(session.contact_id, None)
        with contextlib.suppress(ChannelError):  # the customer left: abandon or end it
            await dispatcher.apply([Ended(GATEWAY, thread(session.session), "customer left")])
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()


@router.get("/chat", response_class=HTMLResponse, include_in_schema=False)
async def widget() -> HTMLResponse:
    """The embeddable chat widget (no build step): open /chat, or iframe it."""
    return HTMLResponse(WIDGET.read_text(encoding="utf-8"))
