"""What the server's websocket keep-alive pings cost, and when: N websockets opened
together, pinged every ``--interval`` seconds, with the router's protocol (each ping after a
drawn 75-100% of the interval: api/server/ws_protocol.py) and with uvicorn's own (every
ping exactly one interval after the last).

    python bench/ws_pings.py [--sockets 2000] [--interval 2] [--seconds 12]

A uvicorn server in a process of its own (a route that accepts and waits, as a desktop's
session waits for its messages) and the clients in this one, answering pings and sending
none, as a browser does. Over ``--seconds`` after the first pings are due, the server's CPU
(/proc) is read every 0.1 s: its CPU a ping, and the largest share of a core it used in
one 0.1 s window, where the pings of sockets opened together land at once. With the
router's defaults (20 s) the same pings come ten times less often, each costing the same.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import websockets
from intake import load_average
from throughput import free_port

SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from api.server.ws_protocol import CoalescingWebSocket

async def idle(websocket):
    await websocket.accept()
    await websocket.receive()

app = Starlette(routes=[WebSocketRoute("/idle", idle)])
port, kind, interval = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
uvicorn.run(
    app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False,
    ws=CoalescingWebSocket if kind == "router" else "websockets-sansio",
    ws_ping_interval=interval, ws_ping_timeout=60.0,
)
"""
TICK = 0.1  # s


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("the websocket server did not start") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(kind: str, sockets: int, interval: float, seconds: float) -> str:
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), kind, str(interval)], cwd=root
    )
    try:
        await asyncio.to_thread(wait_until_up, port)
        url = f"ws://127.0.0.1:{port}/idle"
        opened_at = time.monotonic()
        opened = await asyncio.gather(
            *(websockets.connect(url, ping_interval=None, max_queue=None) for _ in range(sockets))
        )
        spread = time.monotonic() - opened_at

        async def answer(ws: websockets.ClientConnection) -> None:
            async for _message in ws:  # none come; the library answers the pings
                pass

        readers = [asyncio.create_task(answer(ws)) for ws in opened]
        await asyncio.sleep(interval * 0.5)  # the first pings are due from 0.75 interval on
        windows: list[float] = []
        last = cpu_seconds(server.pid)
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            await asyncio.sleep(TICK)
            now = cpu_seconds(server.pid)
            windows.append(now - last)
            last = now
        used = sum(windows)
        pings = sockets * seconds / interval  # each socket about once an interval
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
        return (
            f"  {kind:8} {sockets:,} sockets (opened within {spread:.1f} s) every {interval:g} s: "
            f"server CPU {used / seconds * 100:.1f}% of a core over {seconds:g} s, about "
            f"{used / pings * 1e6:.0f} µs a ping; the busiest 0.1 s "
            f"{max(windows) / TICK * 100:.0f}% of a core; load {load_average()}"
        )
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, load {load_average()}")
    for kind in ("router", "uvicorn", "router", "uvicorn"):
        print(asyncio.run(run(kind, args.sockets, args.interval, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
