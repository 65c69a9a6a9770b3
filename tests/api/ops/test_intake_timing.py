"""centralino_intake_seconds (api/ops/intake_timing.py): each POST /v1/contacts timed
from reaching the app to its answer, by status; a 500 no handler answered counts too;
nothing else is timed, nor a request forwarded by another node, nor anything on a node
without metrics. The full server's figures: tests/api/ops/test_metrics.py."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.base.asgi_types import FORWARDED, ASGIApp, Receive, Scope, Send
from api.ops.intake_timing import IntakeTiming


class Observed:
    """What the middleware hands to ``Metrics.observe_intake``."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float]] = []

    def observe_intake(self, status: int, seconds: float) -> None:
        self.seen.append((status, seconds))


async def contacts(request: Request) -> Response:
    body = await request.json()
    if body.get("fail"):
        raise RuntimeError("no handler for this")
    return JSONResponse({"ok": True}, 202 if body.get("valid") else 422)


async def other(_request: Request) -> Response:
    return JSONResponse({})


class MarkForwarded:
    """What the router does with a request another node forwarded (api/cluster)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and b"x-forwarded-by-node" in dict(scope["headers"]):
            scope = {**scope, FORWARDED: True}
        await self.app(scope, receive, send)


def app_with(metrics: Observed | None) -> Starlette:
    app = Starlette(
        routes=[
            Route("/v1/contacts", contacts, methods=["POST", "GET"]),
            Route("/v1/other", other, methods=["POST"]),
        ]
    )
    app.add_middleware(IntakeTiming)
    app.add_middleware(MarkForwarded)  # outside it: the router marks before the app runs
    if metrics is not None:
        app.state.metrics = metrics
    return app


def client(app: Starlette) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://router")


async def test_each_new_contact_is_timed_with_its_status() -> None:
    metrics = Observed()
    async with client(app_with(metrics)) as http:
        assert (await http.post("/v1/contacts", json={"valid": True})).status_code == 202
        assert (await http.post("/v1/contacts", json={})).status_code == 422
        assert (await http.post("/v1/contacts", json={"fail": True})).status_code == 500
    assert [status for status, _seconds in metrics.seen] == [202, 422, 500]
    assert all(seconds > 0 for _status, seconds in metrics.seen)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/contacts", {}),
        ("POST", "/v1/other", {}),
        ("POST", "/v1/contacts", {"x-forwarded-by-node": "b"}),
    ],
)
async def test_other_requests_and_forwarded_ones_are_not_timed(
    method: str, path: str, headers: dict[str, str]
) -> None:
    metrics = Observed()
    async with client(app_with(metrics)) as http:
        reply = await http.request(method, path, json={"valid": True}, headers=headers)
    assert reply.status_code in (200, 202)
    assert metrics.seen == []


async def test_a_node_without_metrics_answers_untimed() -> None:
    async with client(app_with(None)) as http:
        assert (await http.post("/v1/contacts", json={"valid": True})).status_code == 202
