"""Local stand-ins for the providers replies go to, speaking their real request formats:
Meta's Graph send endpoints, X's DM endpoint and Twilio's Messages resource (one small ASGI
app served by uvicorn on a loopback port), and an SMTP relay (aiosmtpd).

Each checks what the real one checks (path, auth, body shape) and records what it got; a
test can queue the next answers (``answer``): an error status and body, or a hang (for a
timeout)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.live import LoopbackServer, free_port

META_TOKEN = "meta-page-token"
X_TOKEN = "x-user-token"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token"


@dataclass
class Answer:
    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    hang: float = 0.0  # seconds to wait before answering (a timeout on the caller's side)


@dataclass
class Received:
    provider: str
    path: str
    body: Any


class FakeProviders:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.queued: dict[str, list[Answer]] = {"meta": [], "x": [], "twilio": []}
        self.app = self._app()
        self.loopback = LoopbackServer(self.app)
        self.url = self.loopback.url

    def answer(self, provider: str, *answers: Answer) -> None:
        self.queued[provider].extend(answers)

    def of(self, provider: str) -> list[Received]:
        return [r for r in self.received if r.provider == provider]

    async def _reply(self, provider: str, ok: dict[str, Any], status: int = 200) -> JSONResponse:
        answer = self.queued[provider].pop(0) if self.queued[provider] else None
        if answer is None:
            return JSONResponse(ok, status)
        if answer.hang:
            await asyncio.sleep(answer.hang)
        return JSONResponse(answer.body or ok, answer.status)

    def _app(self) -> FastAPI:
        app = FastAPI()

        def refuse(status: int, message: str) -> JSONResponse:
            return JSONResponse({"error": {"message": message, "code": 190}}, status)

        @app.post("/v21.0/{account}/messages")
        async def meta(account: str, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {META_TOKEN}":
                return refuse(401, "Invalid OAuth access token.")
            body = await request.json()
            if body.get("messaging_product") == "whatsapp":
                assert body["recipient_type"] == "individual" and body["to"]
                assert body["type"] in ("text", "template") and body[body["type"]]
                if body["type"] == "template":
                    assert body["template"]["name"] and body["template"]["language"]["code"]
                self.received.append(Received("meta", f"/{account}/messages", body))
                return await self._reply(
                    "meta",
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                        "messages": [{"id": f"wamid.{len(self.received)}"}],
                    },
                )
            if not (body.get("recipient", {}).get("id") and body.get("message", {}).get("text")):
                return refuse(400, "(#100) param recipient and message are required")
            assert body["messaging_type"] == "RESPONSE"
            self.received.append(Received("meta", f"/{account}/messages", body))
            return await self._reply(
                "meta",
                {"recipient_id": body["recipient"]["id"], "message_id": f"m_{len(self.received)}"},
            )

        @app.post("/2/dm_conversations/with/{participant}/messages")
        async def x_dm(participant: str, request: Request) -> JSONResponse:
            if request.headers.get("authorization") != f"Bearer {X_TOKEN}":
                return JSONResponse({"title": "Unauthorized", "status": 401}, 401)
            body = await request.json()
            if not isinstance(body.get("text"), str) or not body["text"]:
                return JSONResponse({"errors": [{"message": "text is required"}]}, 400)
            self.received.append(Received("x", f"/with/{participant}/messages", body))
            n = len(self.received)
            return await self._reply(
                "x",
                {"data": {"dm_conversation_id": f"1-{participant}", "dm_event_id": f"{n}"}},
                201,
            )

        @app.post("/2010-04-01/Accounts/{sid}/Messages.json")
        async def twilio(sid: str, request: Request) -> JSONResponse:
            expected = base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if sid != TWILIO_SID or request.headers.get("authorization") != f"Basic {expected}":
                return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, 401)
            assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
            form = dict(await request.form())
            if (
                not form.get("To")
                or not form.get("From")
                or not (form.get("Body") or form.get("ContentSid"))
            ):
                return JSONResponse(
                    {"code": 21602, "message": "Message body is required.", "status": 400}, 400
                )
            self.received.append(Received("twilio", "/Messages.json", form))
            return await self._reply(
                "twilio",
                {"sid": f"SM{len(self.received):032d}", "status": "queued", "to": form["To"]},
                201,
            )

        return app

    def start(self) -> FakeProviders:
        self.loopback.start()
        return self

    def stop(self) -> None:
        self.loopback.stop()


class RelayHandler:
    """aiosmtpd handler: keeps each message; ``rcpt_answer`` / ``data_answer`` / ``hang``
    make the next session refuse or stall."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_answer: str | None = None
        self.data_answer: str | None = None
        self.hang = 0.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hang:
            await asyncio.sleep(self.hang)
        if self.data_answer:
            return self.data_answer
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 queued"


class Relay:
    """A real SMTP relay on loopback (aiosmtpd's controller, in its own thread)."""

    def __init__(self) -> None:
        self.handler = RelayHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> Relay:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def closed_url() -> str:
    """A loopback URL nobody listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}"
