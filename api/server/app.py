"""The FastAPI application factory: wires rules, store, engine, runtime and endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from api.base.asgi_types import ASGIApp, Message, Receive, Scope, Send
from api.base.limits import GatewayRateLimit, keep_personal_data_out_of_logs
from api.base.settings import Settings
from api.chat import session as chat
from api.desktop import session as desktop
from api.gateways import contacts as gateway
from api.gateways import webhooks as channels
from api.ops import admin as ops
from api.ops import reload, wallboard
from api.server.backends import backend_type
from router.decisions import EngineError
from router.rules.loader import RuleSet, load_rules
from router.store.errors import StoreError

log = logging.getLogger("centralino")


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
    settings = settings or Settings()
    backend_cls = backend_type(settings)  # checked before a missing admin token is made up
    settings = settings.with_admin_token()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ruleset = rules or load_rules(settings.config_path)
        app.state.rules = ruleset
        backend = backend_cls(app, settings, ruleset)
        app.state.backend = backend
        await backend.start()
        try:
            yield
        finally:
            await backend.stop()

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
        """This node: up, and its part in routing (the active router or a standby)."""
        health: dict[str, Any] = request.app.state.backend.health()
        return health

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

    backend_cls.install(app)  # inside the size and rate limits below
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
