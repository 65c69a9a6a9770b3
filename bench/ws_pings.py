"""What the server's websocket keep-alive pings cost, and when: N websockets opened
together, pinged every ``--interval`` seconds, with the router's protocol (each ping after a
drawn 75-100% of the interval: api/server/ws_protocol.py) and with uvicorn's own (every
ping exactly one interval after the last).

    python bench/ws_pings.py [--sockets 2000] [--interval 2] [--seconds 12]

A uvicorn server in a process of its own (a route that accepts and waits, as a desktop's
session waits for its messages) and the clients in this one, answering pings and sending
none, as a browser does. Over ``--seconds`` after the first pings are due, the server's CPU
(the scheduler's nanoseconds in /proc/PID/task/*/schedstat) is read about every 0.1 s: its
CPU a ping (the pings counted by the server itself, which sends about 14% more of them
with the draw: a wait of 87.5% of the interval on average), and the largest share of a core
it used in one window (divided by the window's measured length), where the pings of
sockets opened together land at once. The default interval is short to get many pings in a
short run: at the router's 20 s (``--interval 20``) a round of the router's pings is spread
over 5 s, not 0.5 s, and a ping costs an idle server more when fewer come at once
(docs/hot-path-history.md, the forty-second session, has both).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from intake import load_average
from throughput import free_port, wait_for_port

SERVER = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from api.server.ws_protocol import CoalescingWebSocket

SENT = [0]

def counting(base):
    class Counting(base):
        def send_keepalive_ping(self):
            SENT[0] += 1
            super().send_keepalive_ping()
    return Counting

async def idle(websocket):
    await websocket.accept()
    await websocket.receive()

async def sent(request):
    return JSONResponse({"pings": SENT[0]})

app = Starlette(routes=[WebSocketRoute("/idle", idle), Route("/sent", sent)])
port, kind, interval = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
uvicorn.run(
    app, host="127.0.0.1", port=port, log_level="warning", ws_per_message_deflate=False,
    ws=counting(CoalescingWebSocket if kind == "router" else WebSocketsSansIOProtocol),
    ws_ping_interval=interval, ws_ping_timeout=60.0,
)
"""
TICK = 0.1  # s


def scheduler_cpu_seconds(pid: int) -> float:
    """The process's CPU time so far, every thread's, in the scheduler's nanoseconds (the
    clock ticks of /proc/PID/stat are 10 ms: a tenth of a 0.1 s window)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def pings_sent(port: int) -> int:
    """The pings the server has sent so far (its /sent route)."""
    return int(httpx.get(f"http://127.0.0.1:{port}/sent", timeout=5).json()["pings"])


async def run(kind: str, sockets: int, interval: float, seconds: float) -> str:
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port), kind, str(interval)], cwd=root
    )
    try:
        await asyncio.to_thread(wait_for_port, port, 30.0)
        url = f"ws://127.0.0.1:{port}/idle"
        opened_at = time.monotonic()
        opened = await asyncio.gather(
            *(websockets.connect(url, ping_interval=None, max_queue=None) for _ in range(sockets))
        )
        spread = time.monotonic() - opened_at
        # the library answers the pings by itself; the first are due 0.75 interval after
        # each socket's handshake: start once the last one opened
        await asyncio.sleep(interval * 0.5)
        shares: list[float] = []  # each window's share of a core
        sent_before = await asyncio.to_thread(pings_sent, port)
        last, last_at = scheduler_cpu_seconds(server.pid), time.monotonic()
        began = last_at
        used = 0.0
        while last_at - began < seconds:
            await asyncio.sleep(TICK)
            now, now_at = scheduler_cpu_seconds(server.pid), time.monotonic()
            shares.append((now - last) / (now_at - last_at))
            used += now - last
            last, last_at = now, now_at
        elapsed = last_at - began
        pings = await asyncio.to_thread(pings_sent, port) - sent_before
        still_open = sum(ws.state is websockets.protocol.State.OPEN for ws in opened)
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
        if still_open != sockets:
            raise RuntimeError(f"{sockets - still_open} websockets closed during the run")
        return (
            f"  {kind:8} {sockets:,} sockets (opened within {spread:.1f} s) every {interval:g} s: "
            f"{pings:,} pings in {elapsed:.1f} s, server CPU {used / elapsed * 100:.1f}% of a "
            f"core, {used / max(pings, 1) * 1e6:.0f} µs a ping; the busiest window "
            f"{max(shares) * 100:.0f}% of a core; load {load_average()}"
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
