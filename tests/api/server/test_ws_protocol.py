"""Several websocket messages in one write to the socket (api/server/ws_protocol.py and
api/base/frames.py's send_texts), and keep-alive pings spread out in time, over real
uvicorn servers and websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from api.base.frames import SEND_TEXTS, send_texts
from api.server import ws_protocol
from api.server.ws_protocol import PING_JITTER, CoalescingWebSocket, ping_delay
from tests.live import LoopbackServer, TransportWrites

TEXTS = ["uno", '{"type":"offer","text":"è già arrivata 😊"}', "x" * 100_000, ""]


async def texts_sent_back(websocket: WebSocket) -> None:
    """For each JSON list of texts it is sent: sends them back with send_texts, then
    how: whether the server offered SEND_TEXTS and the size of each write to the socket
    meanwhile (counted where it was offered)."""
    await websocket.accept()
    extension = websocket.scope["extensions"].get(SEND_TEXTS)
    while True:
        try:
            texts = json.loads(await websocket.receive_text())
        except WebSocketDisconnect:
            return
        writes = TransportWrites(extension["send"].__self__) if extension is not None else None
        try:
            await send_texts(websocket, texts)
        finally:
            if writes is not None:
                writes.restore()
        sizes = writes.sizes if writes is not None else []
        await websocket.send_text(json.dumps({"offered": extension is not None, "writes": sizes}))


OUTCOMES: list[str] = []
TRIED = threading.Event()


async def peer_gone(websocket: WebSocket) -> None:
    """Waits for the client to close, then tries to send two texts."""
    await websocket.accept()
    await websocket.receive()  # the close
    try:
        await send_texts(websocket, ["a", "b"])
    except (WebSocketDisconnect, RuntimeError) as exc:
        OUTCOMES.append(type(exc).__name__)
    else:
        OUTCOMES.append("sent")
    TRIED.set()


async def idle(websocket: WebSocket) -> None:
    """Accepts, then only waits for the client to close."""
    await websocket.accept()
    await websocket.receive()


APP = Starlette(
    routes=[
        WebSocketRoute("/texts", texts_sent_back),
        WebSocketRoute("/gone", peer_gone),
        WebSocketRoute("/idle", idle),
    ]
)


@pytest.fixture(params=["coalescing", "uvicorn's own"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    options: dict[str, Any] = {"ws_per_message_deflate": False}  # (as the router's server)
    if request.param == "coalescing":
        options["ws"] = CoalescingWebSocket
    server = LoopbackServer(APP, force_exit=True, **options)
    server.start()
    try:
        yield server.url.replace("http", "ws"), request.param
    finally:
        server.stop()


async def test_texts_arrive_whole_and_in_order_in_one_write_where_offered(
    served: tuple[str, str],
) -> None:
    url, kind = served
    async with websockets.connect(f"{url}/texts", max_size=None) as ws:
        await ws.send(json.dumps(TEXTS))
        received = [await ws.recv() for _ in TEXTS]
        how = json.loads(await ws.recv())
    assert received == TEXTS
    assert how["offered"] is (kind == "coalescing")
    if kind == "coalescing":
        assert len(how["writes"]) == 1 and how["writes"][0] > sum(map(len, TEXTS))


async def test_one_text_is_sent_as_send_text_sends_it_and_none_sends_nothing(
    served: tuple[str, str],
) -> None:
    url, kind = served
    async with websockets.connect(f"{url}/texts") as ws:
        await ws.send(json.dumps(["solo"]))
        assert await ws.recv() == "solo"
        assert len(json.loads(await ws.recv())["writes"]) == (kind == "coalescing")
        await ws.send(json.dumps([]))
        assert json.loads(await ws.recv())["writes"] == []


async def test_after_the_peer_closed_sending_raises_as_send_text_does(
    served: tuple[str, str],
) -> None:
    url, _kind = served
    OUTCOMES.clear()
    TRIED.clear()
    async with websockets.connect(f"{url}/gone") as ws:
        await ws.close()
    server_side = await wait_for_outcome()
    assert server_side == "WebSocketDisconnect"  # (as send_text raises it, either server)


async def wait_for_outcome() -> str:
    """What the endpoint (in the server's thread) got from sending, once it has tried."""
    if not await asyncio.to_thread(TRIED.wait, 30):
        raise AssertionError("the endpoint never tried to send")
    return OUTCOMES[0]


def test_each_ping_waits_a_drawn_share_of_uvicorn_s_wait() -> None:
    assert PING_JITTER == 0.25
    assert ping_delay(20.0, 0.5, lambda low, _high: low) == 19.5 * 0.75
    assert ping_delay(20.0, 0.5, lambda _low, high: high) == 19.5
    assert ping_delay(1.0, 3.0) == 0.0  # a round trip longer than the interval: at once
    draws = [ping_delay(20.0, 0.0) for _ in range(1_000)]
    assert min(draws) >= 15.0 and max(draws) <= 20.0
    assert max(draws) - min(draws) > 4.0  # spread over the 5 s, not at one moment


async def ping_frames(url: str, count: int, *, answer: bool = True) -> tuple[int, int | None]:
    """Connects as a browser does (no pings of its own) and reads until ``count`` pings
    came or the server closed the connection: how many came, and the code of the server's
    close frame (None if it did not close). ``answer``: send the pongs."""
    uri = parse_uri(url)
    reader, writer = await asyncio.open_connection(uri.host, uri.port)
    protocol = ClientProtocol(uri)
    protocol.send_request(protocol.connect())
    writer.write(b"".join(protocol.data_to_send()))
    pings = 0
    try:
        while pings < count:
            data = await reader.read(65_536)
            if not data:
                break
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.PING:
                    pings += 1
            pongs = b"".join(protocol.data_to_send())
            if answer:
                writer.write(pongs)
                await writer.drain()
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    closed = protocol.close_rcvd
    return pings, None if closed is None else closed.code


@contextlib.contextmanager
def pinging_server(interval: float, timeout: float) -> Iterator[str]:
    """A server of the router's protocol pinging every ``interval`` s: its /idle URL."""
    server = LoopbackServer(
        APP,
        force_exit=True,
        ws=CoalescingWebSocket,
        ws_ping_interval=interval,
        ws_ping_timeout=timeout,
        ws_per_message_deflate=False,
    )
    server.start()
    try:
        yield server.url.replace("http", "ws") + "/idle"
    finally:
        server.stop()


async def test_the_server_keeps_pinging_a_peer_that_answers() -> None:
    """The drawn waits still chain ping after ping (uvicorn's pong handler schedules the
    next through ``schedule_ping``), and a peer that answers stays connected."""
    with pinging_server(0.05, 30.0) as url:
        started = time.monotonic()
        assert await asyncio.wait_for(ping_frames(url, 5), timeout=60) == (5, None)
        assert time.monotonic() - started >= 4 * 0.05 * (1 - PING_JITTER)


async def test_each_ping_is_scheduled_through_ping_delay(monkeypatch: pytest.MonkeyPatch) -> None:
    """With uvicorn's interval at 30 s, five pings come within seconds only if the waits
    come from ``ping_delay`` (here 10 ms): the override is what uvicorn calls."""
    monkeypatch.setattr(ws_protocol, "ping_delay", lambda _interval, _rtt: 0.01)
    with pinging_server(30.0, 30.0) as url:
        assert await asyncio.wait_for(ping_frames(url, 5), timeout=25) == (5, None)


async def test_a_peer_that_stops_answering_pings_is_dropped() -> None:
    """SECURITY.md's promise, with the drawn waits: no pong within the ping timeout, and
    the server closes with 1011 (one ping out at a time: the next waits for the pong)."""
    with pinging_server(0.05, 0.2) as url:
        pings, code = await asyncio.wait_for(ping_frames(url, 5, answer=False), timeout=60)
        assert (pings, code) == (1, 1011)
