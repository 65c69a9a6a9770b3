"""The FastAPI application factory: wires rules, store, engine, runtime and endpoints."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from api import channels, chat, desktop, gateway, ops, reload, wallboard
from api.channels import build_adapters
from api.chat import ChatHub
from api.hub import DesktopHub
from api.limits import GatewayRateLimit, keep_personal_data_out_of_logs
from api.metrics import Metrics
from api.reload import Reloader
from api.settings import Settings
from api.wallboard import Wallboard
from channels.dispatch import Dispatcher
from channels.smtp import start_smtp
from router import followups
from router.decisions import EngineError
from router.engine import Engine
from router.intake import Intake
from router.rules.loader import RuleSet, load_rules
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.repository import Store, StoreError

log = logging.getLogger("centralino")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, whether or not they declare a
    Content-Length: the body is read (up to the limit) before the app sees it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse({"detail": f"request body larger than {self.limit} bytes"}, 413)
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


def create_app(settings: Settings | None = None, rules: RuleSet | None = None) -> FastAPI:
    settings = (settings or Settings()).with_admin_token()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ruleset = rules or load_rules(settings.config_path)
        store = await Store.open(settings.database_url)
        engine = Engine(ruleset.config, id_prefix=f"o{uuid.uuid4().hex[:8]}")
        runtime = RouterRuntime(engine, store)
        app.state.hub = DesktopHub(runtime, settings.replay_buffer)
        app.state.metrics = Metrics(runtime)
        app.state.wallboard = Wallboard(runtime)
        app.state.runtime = runtime
        app.state.rules = ruleset
        app.state.intake = Intake(runtime, Planner(ruleset))
        app.state.dispatcher = Dispatcher(app.state.intake, app.state.hub.notify_message)
        app.state.chat = ChatHub(runtime)
        app.state.channels = build_adapters(settings)
        app.state.reloader = Reloader(ruleset.source, runtime, app.state.intake)
        await runtime.start()
        background = [
            asyncio.create_task(followups.run(app.state.intake, settings.followup_interval))
        ]
        if settings.reload_interval > 0:
            background.append(
                asyncio.create_task(app.state.reloader.watch(settings.reload_interval))
            )
        smtp = None
        if settings.smtp_port:
            smtp = await start_smtp(
                app.state.dispatcher,
                settings.smtp_host,
                settings.smtp_port,
                settings.max_body_bytes * 40,
            )
        log.info(
            "centralino ready: %d queues, %d rules, %d agents, %d live contacts",
            len(ruleset.config.queues),
            len(ruleset.rules),
            len(engine.agents),
            len(engine.contacts),
        )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if smtp is not None:
                smtp.close()
                await smtp.wait_closed()
            await runtime.stop()
            await store.close()

    app = FastAPI(
        title="centralino",
        version="0.1.0",
        lifespan=lifespan,
        description="Omnichannel contact-center router",
    )
    app.state.settings = settings
    app.include_router(gateway.router)
    app.include_router(ops.router)
    app.include_router(desktop.router)
    app.include_router(channels.router)
    app.include_router(chat.router)
    app.include_router(reload.router)
    app.include_router(wallboard.router)

    @app.get("/healthz", tags=["ops"])
    async def health(request: Request) -> dict[str, Any]:
        engine = request.app.state.runtime.engine
        return {"status": "ok", "agents": len(engine.agents), "live_contacts": len(engine.contacts)}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics(request: Request) -> Response:
        body = request.app.state.metrics.exposition()
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return JSONResponse(
            {"detail": f"storage unavailable, retry later: {exc}"},
            503,
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(EngineError)
    async def engine_error(_request: Request, exc: EngineError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "code": exc.code}, 409)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(GatewayRateLimit, rate=settings.gateway_rate, burst=settings.gateway_burst)
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"]
        )
    if not settings.log_personal_data:
        keep_personal_data_out_of_logs()
    return app
