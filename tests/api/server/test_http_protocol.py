"""A response's head and body in one write to the socket (api/server/http_protocol.py),
over real uvicorn servers and HTTP clients on loopback."""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from api.server.http_protocol import HeadWithBody
from tests.live import LoopbackServer, TransportWrites

WRITES: list[TransportWrites] = []  # each connection's writes to its socket, in order
CYCLES: list[weakref.ref[Any]] = []  # each request's cycle, weakly
STREAM_GO = threading.Event()


class CountedWrites(HeadWithBody):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        WRITES.append(TransportWrites(self))

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        if self.cycle is not None:
            CYCLES.append(weakref.ref(self.cycle))


async def accepted(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"status": "accepted", "got": len(body), "text": "è già 😊"}, 202)


async def streamed(_request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        went = await asyncio.to_thread(STREAM_GO.wait, 10)  # the test saw the head first
        yield b"first" if went else b"the head was held"
        yield b"second"

    return StreamingResponse(chunks(), media_type="text/plain")


async def failing(_request: Request) -> Response:
    class Broken(Response):
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"10")],
                }
            )
            raise RuntimeError("the app failed after starting its response")

    return Broken()


APP = Starlette(
    routes=[
        Route("/contacts", accepted, methods=["POST", "GET", "HEAD"]),
        Route("/stream", streamed),
        Route("/failing", failing),
    ]
)


@pytest.fixture
def served() -> Iterator[str]:
    WRITES.clear()
    CYCLES.clear()
    STREAM_GO.clear()
    server = LoopbackServer(APP, http=CountedWrites)
    server.start()
    try:
        yield server.url
    finally:
        STREAM_GO.set()
        server.stop()


def test_a_response_of_known_length_is_one_write(served: str) -> None:
    with httpx.Client(base_url=served) as client:  # one keep-alive connection
        for _ in range(3):
            response = client.post("/contacts", content=b'{"text":"ciao"}')
            assert response.status_code == 202
            assert response.json() == {"status": "accepted", "got": 15, "text": "è già 😊"}
            assert response.headers["content-type"] == "application/json"
    (writes,) = WRITES
    assert len(writes.sizes) == 3  # head and body together, each response
    assert all(size > int(response.headers["content-length"]) for size in writes.sizes)


def test_uvicorns_own_protocol_writes_twice() -> None:
    """What the protocol saves: the same request through uvicorn's own is two writes."""

    class Uvicorns(CountedWrites):
        def on_headers_complete(self) -> None:
            super(HeadWithBody, self).on_headers_complete()

    WRITES.clear()
    server = LoopbackServer(APP, http=Uvicorns)
    server.start()
    try:
        assert httpx.post(f"{server.url}/contacts", content=b"{}").status_code == 202
    finally:
        server.stop()
    assert len(WRITES[0].sizes) == 2


def test_a_head_request_gets_its_head(served: str) -> None:
    response = httpx.head(f"{served}/contacts")
    assert response.status_code == 202
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_a_stream_s_head_is_not_held_for_its_body(served: str) -> None:
    client = httpx.Client(base_url=served, timeout=30)
    with client, client.stream("GET", "/stream") as response:  # returns once the head is in
        assert response.status_code == 200
        STREAM_GO.set()
        assert response.read() == b"firstsecond"


def test_100_continue_is_not_held(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue")  # before the body
        sock.sendall(b"{}")
        received = b""
        while b'"got":2' not in received:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed early: {received!r}"
            received += chunk
    assert received.startswith(b"HTTP/1.1 202")


def test_a_failure_after_the_head_sends_the_head_then_closes(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /failing HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200")
    assert b"content-length: 10" in received


def test_a_request_s_objects_are_freed_without_the_collector(served: str) -> None:
    """The held head's transport refers to its request weakly: no reference cycle, so a
    finished request is freed when the next one replaces it, the collector off."""
    gc.disable()
    try:
        with httpx.Client(base_url=served) as client:  # one keep-alive connection
            assert client.post("/contacts", content=b"{}").status_code == 202
            assert client.post("/contacts", content=b"{}").status_code == 202
            deadline = time.monotonic() + 10
            while CYCLES[0]() is not None and time.monotonic() < deadline:
                time.sleep(0.01)  # (the server's thread lets go of it after the response)
            assert CYCLES[0]() is None
    finally:
        gc.enable()
