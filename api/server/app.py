"""The FastAPI application factory: wires rules, store, engine, runtime and endpoints."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from api.accounts import oidc, signin, users
from api.base.bodies import RequestBodies
from api.base.errors import install_error_handlers
from api.base.headers import SecurityHeaders
from api.base.limits import GatewayRateLimit, parse_networks
from api.base.logs import guard_logs
from api.base.settings import Settings
from api.base.socket_routes import SocketRoutes
from api.chat import session as chat
from api.chat.guard import ChatGuard
from api.chat.resume import ParkedChats
from api.desktop import linking, setup
from api.desktop import session as desktop
from api.gateways import contacts as gateway
from api.gateways import event_stream
from api.gateways import webhooks as channels
from api.gateways.fast_intake import FastContactIntake
from api.ops import admin as ops
from api.ops import (
    assets,
    customers,
    hours,
    reload,
    reports,
    subscriptions,
    supervise,
    wallboard,
)
from api.ops.intake_timing import IntakeTiming
from api.server.backends import backend_type
from api.server.http_protocol import HeadWithBody
from api.server.ws_protocol import CoalescingWebSocket
from router.decisions import EngineError
from router.rules.loader import RuleSet, load_rules
from router.store.errors import StoreError

log = logging.getLogger("centralino")


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's limits for slow or greedy clients (the rest belongs to a reverse proxy in
    front: header read timeouts, TLS, per-connection bandwidth; see SECURITY.md)."""
    return {
        "limit_concurrency": settings.max_connections,  # beyond: 503
        "ws_max_size": settings.ws_max_bytes,  # a larger websocket message closes it (1009)
        "ws_ping_interval": 20.0,  # a websocket peer that stops answering pings is dropped
        "ws_ping_timeout": 20.0,
        # desktop messages are small JSON: compressing each cost more CPU than it saved
        # (3.5% of the server's at a shift start of 2,000 desktops, bench/intake.py --storm)
        "ws_per_message_deflate": False,
        # several messages ready at once in one write to the socket (api/base/frames.py)
        "ws": CoalescingWebSocket,
        # a response's head and body in one write to the socket (api/server/http_protocol.py)
        "http": HeadWithBody,
        "timeout_keep_alive": 5,  # idle keep-alive connections are closed
        "h11_max_incomplete_event_size": 16 * 1024,  # header block size (h11)
        "server_header": False,
        # X-Forwarded-For is read by centralino alone, and only from CENTRALINO_TRUSTED_PROXIES
        # (uvicorn would otherwise believe it from any client on 127.0.0.1)
        "proxy_headers": False,
    }


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
            await app.state.chat_parked.close()
            await backend.stop()

    app = FastAPI(
        title="centralino",
        version="0.1.0",
        lifespan=lifespan,
        description="Omnichannel contact-center router",
        # FastAPI's own OpenTelemetry looks up three providers in the environment on every
        # request (2.8 µs each); centralino reports through /metrics
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.chat_guard = ChatGuard(settings)
    app.state.chat_parked = ParkedChats[Any](settings.chat_resume_grace)
    install_error_handlers(app)
    app.include_router(gateway.router)
    app.include_router(ops.router)
    app.include_router(supervise.router)
    app.include_router(reports.router)
    app.include_router(linking.router)
    app.include_router(customers.router)
    app.include_router(channels.router)
    app.include_router(chat.router)
    app.include_router(reload.router)
    app.include_router(hours.router)
    app.include_router(wallboard.router)
    app.include_router(subscriptions.router)
    app.include_router(event_stream.router)
    app.include_router(signin.router)
    app.include_router(oidc.router)
    app.include_router(users.router)
    app.include_router(setup.router)
    app.include_router(assets.router)

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
        return unavailable(str(exc))

    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(OSError)
    async def database_error(_request: Request, exc: Exception) -> JSONResponse:
        """A driver (or connection) error that no store method turned into a StoreError:
        still the database's trouble, not the client's, so 503 as for a StoreError,
        never a 500; the driver's message stays in the log."""
        log.error("database error: %s", exc)
        return unavailable(f"database error {type(exc).__name__}")

    @app.exception_handler(EngineError)
    async def engine_error(_request: Request, exc: EngineError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "code": exc.code}, 409)

    app.add_middleware(FastContactIntake)  # innermost: after every check below
    backend_cls.install(app)  # inside the size and rate limits below
    app.add_middleware(RequestBodies, limit=settings.max_body_bytes, timeout=settings.body_timeout)
    app.add_middleware(
        GatewayRateLimit,
        rate=settings.gateway_rate,
        burst=settings.gateway_burst,
        gateway_token=settings.gateway_token,
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"]
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(IntakeTiming)  # outermost of the HTTP ones: times what the server does
    app.add_middleware(  # outermost: a websocket holds none of the layers above for its life
        SocketRoutes,
        routes={
            "/v1/desktop": desktop.desktop,
            "/v1/chat": chat.chat,
            "/v1/wallboard": wallboard.wallboard_socket,
        },
    )
    guard_logs(settings.log_personal_data)
    return app


def unavailable(detail: str) -> JSONResponse:
    """503 with Retry-After: the store cannot answer now, the same request may work soon."""
    return JSONResponse(
        {"detail": f"storage unavailable, retry later: {detail}"},
        503,
        headers={"Retry-After": "1"},
    )
