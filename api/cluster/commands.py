"""The active router's side of the command stream (several nodes on Redis).

Nodes hand over whole HTTP requests (``http``: run through this app as if they had arrived
here, so every endpoint behaves the same on every node), desktop logins and actions, the
wallboard's snapshot and SMTP messages. Replies are plain JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI

from api.base.asgi_types import FORWARDED
from api.base.sessions import SESSION_COOKIE, principal_from_cookies
from api.cluster.chat import RouterChat
from api.cluster.hub import RedisDesktopHub
from api.cluster.node_intake import ROUTE, route_command
from api.desktop.protocol import Error, Welcome
from api.desktop.requests import perform
from api.desktop.session import BadMessage, agent_for_token, parse, unauthorized, unavailable
from api.gateways.smtp import SmtpHandler
from router.runtime import RouterRuntime
from router.states import Presence
from router.store.errors import StoreError
from router.views import agent_view

log = logging.getLogger("centralino.cluster")


class RouterCommands:
    def __init__(self, app: FastAPI, epoch: int, chat: RouterChat) -> None:
        self.app = app
        self.epoch = epoch
        self.chat = chat
        self.sessions: dict[str, str] = {}  # agent -> its current desktop session

    @property
    def runtime(self) -> RouterRuntime:
        runtime: RouterRuntime = self.app.state.runtime
        return runtime

    @property
    def hub(self) -> RedisDesktopHub:
        hub: RedisDesktopHub = self.app.state.hub
        return hub

    async def __call__(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        replayed = bool(args.pop("_replayed", False))  # read again after a take-over
        if op == "http":
            return await self.http(args)
        if op == "desktop.login":
            return await self.login(args)
        if op == "desktop.act":
            return await self.act(args)
        if op == "desktop.disconnect":
            return self.disconnect(args)
        if op == "session.principal":
            return await self.principal(args)
        if op == "wallboard.snapshot":
            snapshot: dict[str, Any] = self.app.state.wallboard.snapshot()
            return snapshot
        if op == "chat.start":
            return await self.chat.start(args)
        if op == "chat.say":
            return await self.chat.say(args)
        if op == "chat.callback":
            return await self.chat.callback(args)
        if op == "chat.leave":
            return await self.chat.leave(args)
        if op == ROUTE:
            return await route_command(self.app.state.intake, args, replayed)
        if op == "smtp":
            handler = SmtpHandler(
                self.app.state.dispatcher,
                authserv_ids=self.app.state.settings.email_authserv_ids,
            )
            return {"reply": await handler.deliver(base64.b64decode(args["raw"]))}
        return {"error": {"code": "unknown_command", "message": f"unknown command {op!r}"}}

    # ------------------------------------------------------------------ http

    async def http(self, request: dict[str, Any]) -> dict[str, Any]:
        body = base64.b64decode(request["body"])
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request["method"],
            "scheme": request["scheme"],
            "path": request["path"],
            "raw_path": request.get("raw_path", request["path"]).encode("latin-1"),
            "root_path": "",
            "query_string": request["query"].encode("latin-1"),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request["headers"]],
            "client": tuple(request["client"]) if request.get("client") else None,
            "server": tuple(request["server"]) if request.get("server") else None,
            FORWARDED: True,
        }
        sent = False

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        headers: list[list[str]] = []
        chunks: list[bytes] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return {
            "status": status,
            "headers": headers,
            "body": base64.b64encode(b"".join(chunks)).decode(),
        }

    # --------------------------------------------------------------- desktop

    async def principal(self, args: dict[str, Any]) -> dict[str, Any]:
        """Who a session cookie signs in, or why it cannot be told now (``unavailable``)."""
        try:
            found = await principal_from_cookies(
                self.app, {SESSION_COOKIE: str(args.get("cookie", ""))}
            )
        except StoreError as exc:  # the asking node logs it, once a socket
            log.debug("a session could not be checked: %s", exc)
            return {"error": {"code": "unavailable", "message": str(exc)}}
        return {"principal": dataclasses.asdict(found) if found is not None else None}

    async def _agent_of(self, args: dict[str, Any]) -> str | None:
        """The agent a login's token or session cookie names, if it may log in."""
        if args.get("token"):
            return await agent_for_token(self.runtime, str(args["token"]))
        # a browser signed in: its session cookie, from a same-origin handshake
        found = await principal_from_cookies(
            self.app, {SESSION_COOKIE: str(args.get("cookie", ""))}
        )
        agent_id = found.agent_id if found is not None else None
        return agent_id if agent_id in self.runtime.engine.agents else None

    async def login(self, args: dict[str, Any]) -> dict[str, Any]:
        """Like the embedded login (api/desktop/session.py): the snapshot and the seq it is valid
        at are taken in one step, with nothing awaited in between."""
        runtime = self.runtime
        engine = runtime.engine
        try:
            agent_id = await self._agent_of(args)
        except StoreError as exc:
            log.error("a desktop login could not be checked: %s", exc)
            return {"error": unavailable(args.get("ref"))}
        if agent_id is None:
            return {"error": unauthorized(args.get("ref"))}
        session = str(args["session"])
        await self.hub.ensure(agent_id)
        control_after = await self.hub.writer.control(agent_id, session)
        self.sessions[agent_id] = session
        runtime.submit(lambda now: engine.connected(agent_id, now))
        agent = engine.agents[agent_id]
        stream = self.hub.stream(agent_id)
        welcome = Welcome(
            stream=stream.stream_id,
            seq=stream.seq,
            resumed=False,
            agent=agent_view(agent, runtime.clock()),
            state=self.hub.agent_state(agent_id),
        )
        seq = stream.seq
        wanted = str(args.get("presence", "available"))
        if agent.presence is Presence.OFFLINE and wanted in ("available", "away"):
            presence = Presence(wanted)
            runtime.submit(lambda now: engine.set_presence(agent_id, presence, now))
        await self.hub.writer.reached(agent_id, seq)  # a replay up to seq finds it all
        return {
            "welcome": welcome.model_dump(mode="json"),
            "agent_id": agent_id,
            "control_after": control_after,
            "epoch": self.epoch,
        }

    async def act(self, args: dict[str, Any]) -> dict[str, Any]:
        agent_id = str(args["agent_id"])
        try:
            message = parse(str(args["message"]))
        except BadMessage as exc:
            return exc.reply()
        if self.sessions.get(agent_id) != args.get("session"):
            return Error(
                ref=message.ref,
                code="replaced",
                message="this session was replaced by a newer login",
            ).model_dump()
        if agent_id not in self.runtime.engine.agents:
            return Error(ref=message.ref, code="unauthorized", message="agent removed").model_dump()
        reply = await perform(
            self.runtime,
            self.app.state.chat,
            agent_id,
            message,
            replies=getattr(self.app.state, "replies", None),
        )
        # acknowledged means recorded: a successor router knows what the agent was told
        # (an ack, like a local desktop's: the batch may linger)
        await self.runtime.recorder.reached(self.runtime.recorder.mark, linger=True)
        return reply

    def disconnect(self, args: dict[str, Any]) -> dict[str, Any]:
        agent_id = str(args["agent_id"])
        if self.sessions.get(agent_id) != args.get("session"):
            return {"disconnected": False}  # a newer session is live
        del self.sessions[agent_id]
        engine = self.runtime.engine
        if agent_id in engine.agents:
            self.runtime.submit(lambda now: engine.disconnected(agent_id, now))
        return {"disconnected": True}
