"""Slow or greedy clients: the server's own limits (api/server/app.py server_options)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import websockets

from api.base.settings import Settings
from api.server.app import server_options
from tests.live import ThreadServer, create_agent


def test_uvicorn_gets_every_limit_from_the_settings() -> None:
    options = server_options(Settings(max_connections=7, ws_max_bytes=1234))
    assert options["limit_concurrency"] == 7
    assert options["ws_max_size"] == 1234
    assert options["timeout_keep_alive"] > 0 and options["ws_ping_interval"] > 0


async def test_connections_over_the_limit_get_503(tmp_path: Path) -> None:
    server = ThreadServer(tmp_path / "c.db", max_connections=3).start()
    idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(2)]
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            for _ in range(500):  # until the server has registered the two idle sockets
                reply = await http.get("/healthz")
                if reply.status_code == 503:
                    break
                await asyncio.sleep(0.01)
            assert reply.status_code == 503
        for _, writer in idle:
            writer.close()
        async with httpx.AsyncClient(base_url=server.url) as http:
            for _ in range(500):  # until they are gone
                reply = await http.get("/healthz")
                if reply.status_code == 200:
                    break
                await asyncio.sleep(0.01)
            assert reply.status_code == 200
    finally:
        server.stop()


async def test_a_websocket_message_over_the_size_limit_closes_the_socket(
    tmp_path: Path,
) -> None:
    server = ThreadServer(tmp_path / "w.db", ws_max_bytes=4096).start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            token = await create_agent(http, "ada", skills={"billing": 5})
        async with websockets.connect(server.ws_url) as ws:
            await ws.send('{"type": "login", "token": "' + token + '"}')
            assert '"welcome"' in await ws.recv()
            await ws.send('{"type": "ping", "ref": "' + "x" * 10_000 + '"}')
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        server.stop()


async def test_a_slow_body_is_cut_off_and_a_whole_one_is_not(tmp_path: Path) -> None:
    server = ThreadServer(tmp_path / "b.db", body_timeout=0.5, max_body_bytes=1000).start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 20)
        assert answer.startswith(b"HTTP/1.1 408") and b"connection: close" in answer.lower()
        writer.close()
        # a drip that keeps each chunk under the timeout is still cut off: one deadline
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n")
        await writer.drain()
        dripped, answer = 0, b""
        while not reader.at_eof() and dripped < 500:
            writer.write(b" ")
            await writer.drain()
            dripped += 1
            try:
                answer = await asyncio.wait_for(reader.read(100), 0.1)
            except TimeoutError:
                continue
            if answer:
                break
        assert answer.startswith(b"HTTP/1.1 408") and dripped < 500
        writer.close()
        async with httpx.AsyncClient(base_url=server.url) as http:
            too_big = await http.post("/v1/contacts", content=b"{" + b" " * 2000 + b"}")
            assert too_big.status_code == 413
            fine = await http.post("/v1/contacts", json={"gateway": "g"})
            assert fine.status_code == 422  # read in time, and answered by the endpoint
    finally:
        server.stop()
