"""Web chat when nodes share Redis: the customer's websocket stays on whichever node it
reached; its start, messages and leaving go to the active router as commands, and what
the customer is told comes back through the chat's Redis stream (router/cluster/chat.py).
Same protocol as the embedded chat (api/chat/session.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from api.base.frames import receive_text
from api.base.socket_closes import close_try_again
from api.chat.callback import AskCallback, ask_callback
from api.chat.guard import CLOSE_RATE_LIMITED, ChatGuard, RateLimited
from api.chat.resume import CLOSE_BAD_RESUME, ParkedChats, Resume
from api.chat.session import (
    CLOSE_BAD_START,
    GATEWAY,
    NOT_STARTED,
    ChatHub,
    ChatPeer,
    ChatState,
    Leave,
    Start,
    not_delivered,
    parse_customer,
    started_contact,
    thread,
)
from api.cluster.edge import Edge
from channels.base import ChannelError, Ended, Message
from channels.contact import IntakeError
from router.cluster.chat import ChatReader, ChatWriter
from router.cluster.commands import RouterUnavailable
from router.dispatch import Dispatcher
from router.ids import new_id
from router.intake import ContactGone
from router.states import ContactState
from router.store.errors import StoreError

log = logging.getLogger("centralino.chat")


class RemoteChatPeer(ChatPeer):
    """A customer whose websocket is on some node: told through the chat's stream."""

    def __init__(self, session: str, contact_id: str, writer: ChatWriter) -> None:
        self.session = session
        self.contact_id = contact_id
        self.writer = writer
        self.state = ChatState.WAITING

    def push(self, message: dict[str, Any]) -> None:
        if self.state is not ChatState.CLOSED:
            self.writer.enqueue(self.session, message)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "error", "code": code, "message": message}}


class RouterChat:
    """The active router's side of the chat commands."""

    def __init__(self, app: FastAPI, writer: ChatWriter) -> None:
        self.app = app
        self.writer = writer

    @property
    def hub(self) -> ChatHub:
        hub: ChatHub = self.app.state.chat
        return hub

    @property
    def dispatcher(self) -> Dispatcher:
        dispatcher: Dispatcher = self.app.state.dispatcher
        return dispatcher

    async def start(self, args: dict[str, Any]) -> dict[str, Any]:
        session = str(args["session"])
        try:
            start = parse_customer(str(args["start"]))
            if not isinstance(start, Start):
                raise ValueError("the first message must be a start")
            guard: ChatGuard = self.app.state.chat_guard
            inbound = started_contact(session, start, guard)
            # not ``start``: a read that fails answers an outage at once, where the write
            # would retry past the node's wait (its customer told to try again while the
            # contact might still be stored)
            (result,) = await self.dispatcher.apply([inbound])
        except (ValueError, ChannelError, IntakeError) as exc:
            return _error("bad_message", str(exc))
        except StoreError as exc:  # not stored: nothing started, the customer tries again
            log.error("a chat could not start: %s", exc)
            return _error("unavailable", NOT_STARTED)
        contact_id = str(result["contact_id"])
        await self.writer.redis.hset(self.writer.keys.chat_sessions, contact_id, session)
        self.attach(session, contact_id)
        return {
            "contact_id": contact_id,
            "verified": inbound.contact.customer.verified,
            "notice": result.get("notice"),  # closed now (after-hours policy)
            "estimated_wait": result.get("estimated_wait"),
        }

    async def restore(self) -> int:
        """A new router: know the chats that are live on the nodes."""
        known: Any = await self.writer.redis.hgetall(self.writer.keys.chat_sessions)
        engine = self.app.state.runtime.engine
        restored = 0
        for contact, session in known.items():
            contact_id = contact.decode()
            if contact_id in engine.contacts:
                self.attach(session.decode(), contact_id)
                restored += 1
            else:  # the chat ended while no router was there to hear it
                await self.writer.redis.hdel(self.writer.keys.chat_sessions, contact_id)
        return restored

    def attach(self, session: str, contact_id: str) -> None:
        peer = RemoteChatPeer(session, contact_id, self.writer)
        contact = self.app.state.runtime.engine.contacts.get(contact_id)
        if contact is not None and contact.state is ContactState.ASSIGNED:
            peer.state = ChatState.CONNECTED
        self.hub.sessions[contact_id] = peer
        self.hub.announce_wait(contact_id)

    async def say(self, args: dict[str, Any]) -> dict[str, Any]:
        session, text = str(args["session"]), str(args["text"])
        contact_id = self._attached(session, self.hub.sessions.get(str(args.get("contact_id"))))
        try:
            if contact_id is not None:  # known here: no thread to look up
                await self.dispatcher.message(contact_id, text, "message")
            else:
                await self.dispatcher.apply([Message(GATEWAY, thread(session), text)])
        except ContactGone:  # its record was erased: nothing is stored, the chat ends
            log.info("a chat message for an erased contact was not stored; the chat ends")
            return {"error": {"type": "ended"}, "ended": True}
        except ChannelError as exc:
            return _error("bad_message", str(exc))
        except StoreError as exc:  # not stored: the customer is told, the chat goes on
            log.error("a chat message could not be stored: %s", exc)
            return {"error": not_delivered(exc)}
        return {"sent": True}

    async def callback(self, args: dict[str, Any]) -> dict[str, Any]:
        at = args.get("at")
        number = args.get("number")
        return await ask_callback(
            self.dispatcher,
            str(args["contact_id"]),
            str(number) if number is not None else None,
            float(at) if at is not None else None,
        )

    async def leave(self, args: dict[str, Any]) -> dict[str, Any]:
        session, contact_id = str(args["session"]), str(args["contact_id"])
        peer = self.hub.sessions.pop(contact_id, None)
        if peer is not None:
            peer.state = ChatState.CLOSED
        await self.writer.redis.hdel(self.writer.keys.chat_sessions, contact_id)
        known = self._attached(session, peer)
        with contextlib.suppress(ChannelError, KeyError):  # the customer left: abandon or end it
            if known is not None:  # known here: no thread to look up
                await self.dispatcher.end(known)
            else:
                await self.dispatcher.apply([Ended(GATEWAY, thread(session), "customer left")])
        return {"left": True}

    @staticmethod
    def _attached(session: str, peer: ChatPeer | None) -> str | None:
        """The contact of this chat session if this router holds the session's peer (it
        made or restored it): what the session's thread would point at."""
        if isinstance(peer, RemoteChatPeer) and peer.session == session:
            return peer.contact_id
        return None


class EdgeChat:
    """A customer's chat websocket on this node."""

    def __init__(self, websocket: WebSocket, edge: Edge) -> None:
        self.websocket = websocket
        self.edge = edge
        self.guard: ChatGuard = websocket.app.state.chat_guard
        self.address = self.guard.address(websocket)
        self.reader = ChatReader(edge.redis, edge.keys)
        self.session = new_id()
        self.contact_id = ""
        self.after = "0"  # the chat stream read so far (kept while parked for a resume)
        self._send_lock = asyncio.Lock()

    async def send(self, message: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_json(message)

    async def start(self, timeout: float) -> EdgeChat | None:
        """The chat this socket serves: this one, started; or a parked one it resumes."""
        try:
            async with asyncio.timeout(timeout):
                raw = await receive_text(self.websocket)
            self.guard.check_start(self.address)
            first = parse_customer(raw)
            if isinstance(first, Resume):
                return await self.resume(first)
            if not isinstance(first, Start):
                raise ValueError("the first message must be a start")
        except TimeoutError:
            await self.websocket.close(CLOSE_BAD_START, "no start message")
            return None
        except RateLimited as exc:
            await self.send(exc.frame())
            await self.websocket.close(CLOSE_RATE_LIMITED, "rate limited")
            return None
        except ValueError as exc:
            await self.send({"type": "error", "code": "bad_message", "message": str(exc)})
            await self.websocket.close(CLOSE_BAD_START, "bad start message")
            return None
        try:
            reply = await self.edge.call("chat.start", {"session": self.session, "start": raw})
        except RouterUnavailable as exc:
            await close_try_again(self.websocket, str(exc))
            return None
        if "error" in reply:
            error = reply["error"]
            if error.get("code") == "bad_message":
                await self.send(error)
                await self.websocket.close(CLOSE_BAD_START, "bad start message")
            else:  # the store could not take it, or the router failed: nothing started
                await close_try_again(self.websocket, str(error.get("message", NOT_STARTED)))
            return None
        self.contact_id = reply["contact_id"]
        started = {
            "type": "started",
            "session": self.session,
            "contact_id": self.contact_id,
            "verified": bool(reply.get("verified", False)),
        }
        if reply.get("notice"):
            started["notice"] = reply["notice"]
        started["estimated_wait"] = reply.get("estimated_wait")
        if self.parked.enabled:
            started["resume_token"] = self.parked.issue(self.session)
        await self.send(started)
        return self

    async def resume(self, resume: Resume) -> EdgeChat | None:
        chat = self.parked.claim(resume.session, resume.token)
        if chat is None:
            await self.send(
                {
                    "type": "error",
                    "code": "bad_resume",
                    "message": "no chat to resume with this session and token",
                }
            )
            await self.websocket.close(CLOSE_BAD_RESUME, "bad resume")
            return None
        chat.websocket = self.websocket
        chat.address = self.address
        await chat.send({"type": "resumed", "session": chat.session, "contact_id": chat.contact_id})
        return chat

    @property
    def parked(self) -> ParkedChats[EdgeChat]:
        parked: ParkedChats[EdgeChat] = self.websocket.app.state.chat_parked
        return parked

    async def pump(self) -> None:
        while True:
            messages, self.after = await self.reader.wait(self.session, self.after, block_ms=1000)
            for message in messages:
                await self.send(message)

    async def listen(self) -> None:
        while True:
            try:
                message = parse_customer(await receive_text(self.websocket))
            except ValueError as exc:
                await self.send({"type": "error", "code": "bad_message", "message": str(exc)})
                continue
            if isinstance(message, Leave):
                return
            if isinstance(message, Start | Resume):
                await self.send(
                    {"type": "error", "code": "already_started", "message": "this chat has started"}
                )
                continue
            try:
                self.guard.check_message(self.address, self.session)
            except RateLimited as exc:
                await self.send(exc.frame())
                continue
            try:
                if isinstance(message, AskCallback):
                    frame = await self.edge.call("chat.callback", {**self._ids(), **message.args()})
                    await self.send(frame)
                    continue
                reply = await self.edge.call("chat.say", {**self._ids(), "text": message.text})
            except RouterUnavailable as exc:
                reply = {"error": not_delivered(exc)}
            if "error" in reply:
                await self.send(reply["error"])
            if reply.get("ended"):  # as the router's own chat does (api/chat/session.py)
                return

    def _ids(self) -> dict[str, Any]:
        return {"session": self.session, "contact_id": self.contact_id}


async def serve_chat(websocket: WebSocket, edge: Edge, start_timeout: float) -> None:
    chat = await EdgeChat(websocket, edge).start(start_timeout)
    if chat is None:
        return
    tasks = [asyncio.create_task(chat.pump()), asyncio.create_task(chat.listen())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except asyncio.CancelledError:
        await _gone(chat, tasks)
        raise
    listen = tasks[1]
    left = listen.done() and not listen.cancelled() and listen.exception() is None
    if not left and chat.parked.enabled:  # the connection dropped: wait for a resume
        await _cancel(tasks)
        chat.parked.park(chat.session, chat, lambda: _gone(chat, []))
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close()
        return
    await _gone(chat, tasks)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _gone(chat: EdgeChat, tasks: list[asyncio.Task[None]]) -> None:
    """The customer is gone for good: tell the router (abandon or end)."""
    await _cancel(tasks)
    chat.guard.closed(chat.session)
    chat.parked.forget(chat.session)
    with contextlib.suppress(RouterUnavailable):
        await chat.edge.call("chat.leave", chat._ids(), timeout=2.0)
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await chat.websocket.close()
