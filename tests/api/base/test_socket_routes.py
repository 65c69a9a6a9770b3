"""Websockets served by their endpoint straight from the outermost middleware
(api/base/socket_routes.py), over real uvicorn servers on loopback."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from api.base.socket_routes import SocketRoutes
from tests.live import ADMIN, LoopbackServer, ThreadServer


async def say_direct(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(f"direct {websocket.url.path}")
    await websocket.close()


async def accept_and_fail(websocket: WebSocket) -> None:
    await websocket.accept()
    raise RuntimeError("an endpoint's bug")


async def say_routed(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("routed")
    await websocket.close()


async def page(_request: object) -> PlainTextResponse:
    return PlainTextResponse("page")


@contextmanager
def serving() -> Iterator[str]:
    """A Starlette app with a routed websocket and a page, behind ``SocketRoutes`` for
    ``/direct`` and ``/fails``: the server's address."""
    app = Starlette(routes=[WebSocketRoute("/routed", say_routed), Route("/page", page)])
    routes = {"/direct": say_direct, "/fails": accept_and_fail}
    server = LoopbackServer(SocketRoutes(app, routes))
    server.start()
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        server.stop()


async def test_a_listed_path_is_served_by_its_endpoint_and_the_rest_by_the_app() -> None:
    with serving() as address:
        async with websockets.connect(f"ws://{address}/direct") as ws:
            assert await ws.recv() == "direct /direct"
        async with websockets.connect(f"ws://{address}/routed") as ws:
            assert await ws.recv() == "routed"
        with pytest.raises(websockets.InvalidStatus):  # the app's router refuses it
            async with websockets.connect(f"ws://{address}/nowhere"):
                pass
        async with httpx.AsyncClient() as http:  # HTTP on a listed path: the app's
            assert (await http.get(f"http://{address}/page")).text == "page"
            assert (await http.get(f"http://{address}/direct")).status_code == 404


async def test_an_exception_from_an_endpoint_drops_the_connection() -> None:
    with serving() as address:
        async with websockets.connect(f"ws://{address}/fails") as ws:
            with pytest.raises(websockets.ConnectionClosedError):  # dropped, not left open
                await ws.recv()


# what each socket held under it when FastAPI routed it (a few of them)
ROUTING_LAYERS = {
    "IntakeTiming.__call__",
    "ExceptionMiddleware.__call__",
    "Router.__call__",
    "websocket_session.<locals>.app",
}
AGENT = {"skills": {"support": 3}, "languages": ["it"]}

HOLD_DESKTOPS = textwrap.dedent(
    """
    import asyncio, json, sys, websockets

    async def log_in(url, tokens):
        sockets = []
        for token in tokens:
            ws = await websockets.connect(url, ping_interval=None)
            await ws.send(json.dumps({"type": "login", "token": token}))
            assert json.loads(await ws.recv())["type"] == "welcome"
            sockets.append(ws)
        return sockets

    async def main(url, tokens):
        sockets = await asyncio.wait_for(log_in(url, tokens), 60)  # else exit: no hang
        print("logged in", flush=True)
        await asyncio.to_thread(sys.stdin.read)  # until the test closes it

    asyncio.run(main(sys.argv[1], sys.argv[2:]))
    """
)


def test_a_logged_in_desktop_holds_no_routing_layers(tmp_path: Path) -> None:
    """What a desktop's socket keeps alive in the server for its life, counted as the
    collector counts it: the desktops log in from another process, so only the server's
    objects are new in this one: 134 objects, 19 of them coroutines, on 2026-12-07; with
    FastAPI's routing under each socket 211 and 36."""
    desktops = 40
    server = ThreadServer(tmp_path / "db.sqlite3").start()
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}) as h:
            tokens = [
                h.put(f"/v1/agents/a{n}", json=AGENT).json()["token"] for n in range(desktops)
            ]
        gc.collect()
        old = gc.get_objects()  # kept alive: no new object can take an old one's id
        before = {id(o) for o in old}
        with subprocess.Popen(
            [sys.executable, "-c", HOLD_DESKTOPS, server.ws_url, *tokens],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as client:
            try:
                assert client.stdout is not None
                assert client.stdout.readline() == "logged in\n"
                gc.collect()
                new = [o for o in gc.get_objects() if id(o) not in before]
            finally:
                client.kill()
    finally:
        server.stop()
    held = {o.__qualname__ for o in new if type(o).__name__ == "coroutine"}
    assert not held & ROUTING_LAYERS, held & ROUTING_LAYERS
    coroutines = [o for o in new if type(o).__name__ == "coroutine"]
    assert len(coroutines) / desktops < 27, sorted({c.__qualname__ for c in coroutines})
    assert len(new) / desktops < 170
