"""Throughput and ingest-to-offer latency of the real server, with real agent desktops.

Starts `centralino serve` (SQLite, as shipped by default) on loopback, creates N agents and
connects N websocket desktops that accept every offer and wrap up after a short service
time, queues a backlog of contacts nobody can take, then:

1. max sustained rate: C concurrent gateways post contacts as fast as they can for a few
   seconds; contacts/s = accepted (202) per second;
2. latency at half that rate: contacts posted open-loop at 50% of the max; for each, the time
   from sending the POST to the offer arriving on a desktop (p50, p99);
3. the same closed loop against a bare FastAPI endpoint that only validates the same
   payload and answers 202, run the same way: our rate as a share of it.

    python bench/throughput.py [--agents 100] [--backlog 10000] [--seconds 5]

The load generator runs on the same 2-core machine as the server and competes with it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import websockets

REPO = Path(__file__).resolve().parent.parent
ADMIN = "bench-admin"
CONFIG = """
default_queue: support
expansion: [{after: 0s, min_proficiency: 1}]
preferred_agent: {policy: none}
triage: {detect_language: false}
queues:
  support: {skills: {support: 1}}
  nobody: {skills: {nobody: 1}}
rules:
  - name: backlog
    when: 'contact.intent == "backlog"'
    queue: nobody
"""
BARE_APP = """
from fastapi import FastAPI
from api.gateways.contacts import ContactIn
app = FastAPI()
@app.post("/v1/contacts", status_code=202)
async def post(body: ContactIn) -> dict:
    return {"contact_id": body.message_id, "duplicate": False, "state": "queued",
            "queue": "support"}
@app.get("/healthz")
async def health() -> dict:
    return {"status": "ok"}
"""


CONTENT_LENGTH = re.compile(rb"content-length: *(\d+)", re.IGNORECASE)
MAX_CONNECTIONS = 10_000  # per node; the default 1,000 is below 2,000 desktops


def server_env() -> dict[str, str]:
    """The servers' environment: the admin token, no config reloads, no per-gateway rate
    limit (200/s by default): the benches measure intake itself. And room for the desktops:
    past CENTRALINO_MAX_CONNECTIONS open connections (default 1,000, websockets included)
    uvicorn answers every HTTP request 503, so this is MAX_CONNECTIONS unless set."""
    return {
        "CENTRALINO_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        **os.environ,
        "CENTRALINO_ADMIN_TOKEN": ADMIN,
        "CENTRALINO_RELOAD_INTERVAL": "0",
        "CENTRALINO_GATEWAY_RATE": "0",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float | None = None) -> None:
    """Until something listens on this loopback port (RuntimeError after ``timeout`` s;
    None: for ever)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if deadline is not None and time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port}") from None
            time.sleep(0.05)


def start(args: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    """The server's output is dropped, or appended to CENTRALINO_BENCH_SERVER_LOG if set
    (with CENTRALINO_STALL_LOG_MS, where its loop was held: api/ops/loop_stalls.py)."""
    log_path = env.get("CENTRALINO_BENCH_SERVER_LOG")
    with open(log_path or os.devnull, "ab") as log:
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=log)
    for _ in range(200):
        try:
            if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def serve(
    work: Path, port: int, env: dict[str, str], database_url: str | None = None
) -> subprocess.Popen[bytes]:
    """`centralino serve` on this port, with work/config.yaml and (by default) SQLite in
    work/."""
    args = [
        sys.executable,
        "-m",
        "api.server.cli",
        "serve",
        "--config",
        str(work / "config.yaml"),
        "--port",
        str(port),
        "--database-url",
        database_url or f"sqlite+aiosqlite:///{work / 'bench.db'}",
        "--log-level",
        "warning",
    ]
    return start(args, env, f"http://127.0.0.1:{port}")


def serve_bare(work: Path, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """The bare FastAPI endpoint (BARE_APP: the same body model, answers 202) on this port."""
    (work / "bare_app.py").write_text(BARE_APP)
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "bare_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--app-dir",
        str(work),
    ]
    return start(args, {**env, "PYTHONPATH": str(REPO)}, f"http://127.0.0.1:{port}")


async def create_agents(http: httpx.AsyncClient, count: int) -> list[str]:
    """Agents a0..a<count-1> with the support skill; their desktop tokens."""
    tokens = []
    for a in range(count):
        reply = await http.put(
            f"/v1/agents/a{a}", json={"skills": {"support": 3}, "languages": ["it"]}
        )
        tokens.append(reply.json()["token"])
    return tokens


def body(n: int, intent: str = "support", customer: int | None = None) -> dict[str, Any]:
    """Contact ``n`` (a new message id), from customer ``c<customer>`` (default: ``n``'s
    own, a customer new to the router)."""
    return {
        "gateway": "bench",
        "message_id": f"{intent}-{n}-{time.time_ns()}",
        "channel": "chat",
        "language": "it",
        "intent": intent,
        "customer": {"id": f"c{n if customer is None else customer}"},
        "text": "Salve, una domanda sul mio contratto",
    }


async def post_contact(http: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    """POST a contact, and once more if the connection was dropped under it: a keep-alive
    connection the server closed as it was reused (uvicorn closes idle ones after 5 s)
    stopped a shift-start bench's preparation. The retry carries the same message id, so a
    first attempt that was stored makes it a duplicate, not a second contact."""
    try:
        return await http.post("/v1/contacts", json=payload)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        return await http.post("/v1/contacts", json=payload)


async def queue_contacts(http: httpx.AsyncClient, count: int, intent: str = "backlog") -> float:
    """Post ``count`` contacts, 200 at a time (intent "backlog": to the queue nobody
    serves); the seconds it took."""
    started = time.perf_counter()
    for first in range(0, count, 200):
        replies = await asyncio.gather(
            *(post_contact(http, body(n, intent)) for n in range(first, min(count, first + 200)))
        )
        refused = [r.status_code for r in replies if r.status_code != 202]
        if refused:
            raise RuntimeError(f"queueing contacts: {len(refused)} refused ({refused[0]})")
    return time.perf_counter() - started


class Desks:
    """N agent desktops over websockets: accept every offer, wrap up after `service` s
    (with ``jitter``, a time drawn evenly from service × (1 ± jitter) for each contact)."""

    def __init__(self, url: str, tokens: list[str], service: float, jitter: float = 0.0) -> None:
        self.url = url
        self.tokens = tokens
        self.service = service
        self.jitter = jitter
        self.offered_at: dict[str, float] = {}  # perf_counter when the offer was read
        self.since_arrival: dict[str, float] = {}  # s from the server's arrival stamp
        self.accept_sent: dict[str, float] = {}  # perf_counter when the accept was sent
        self.accept_acked: dict[str, float] = {}  # s from sending the accept to its ack
        self.tasks: list[asyncio.Task[None]] = []
        self.wrapping: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for token in self.tokens:
            self.tasks.append(asyncio.create_task(self.desk(token)))
        await asyncio.sleep(1.0 + len(self.tokens) / 500)

    async def desk(self, token: str) -> None:
        # as a browser's desktop: it answers the server's pings and sends none of its own
        # (the client library's default pings every 20 s, from the connection on)
        async with websockets.connect(self.url, max_queue=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "login", "token": token}))
            async for raw in ws:
                event = json.loads(raw)
                if event.get("type") == "ack" and event.get("ref") in self.accept_sent:
                    ref = event["ref"]
                    self.accept_acked[ref] = time.perf_counter() - self.accept_sent[ref]
                if event.get("type") == "offer":
                    contact_id = event["contact"]["contact_id"]
                    self.offered_at[contact_id] = time.perf_counter()
                    self.since_arrival[contact_id] = time.time() - event["contact"]["arrival"]
                    offer_id = event["offer_id"]
                    self.accept_sent[offer_id] = time.perf_counter()
                    accept = {"type": "accept", "offer_id": offer_id, "ref": offer_id}
                    await ws.send(json.dumps(accept))
                    task = asyncio.create_task(self.wrap_up(ws, contact_id))
                    self.wrapping.add(task)
                    task.add_done_callback(self.wrapping.discard)

    async def wrap_up(self, ws: Any, contact_id: str) -> None:
        spread = random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        await asyncio.sleep(self.service * (1 + spread))
        message = {"type": "wrap_up", "contact_id": contact_id, "outcome": "ok", "resolved": True}
        with contextlib.suppress(websockets.ConnectionClosed):
            await ws.send(json.dumps(message))

    async def stop(self) -> None:
        for task in [*self.tasks, *self.wrapping]:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.wrapping, return_exceptions=True)


async def closed_loop(url: str, concurrency: int, seconds: float) -> float:
    """Contacts accepted per second with `concurrency` gateways posting back to back."""
    done = 0
    stop = time.perf_counter() + seconds
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=httpx.Limits(max_connections=concurrency)
    ) as http:

        async def worker(index: int) -> None:
            nonlocal done
            n = 0
            while time.perf_counter() < stop:
                n += 1
                if (
                    await http.post("/v1/contacts", json=body(index * 10**6 + n))
                ).status_code == 202:
                    done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        return done / (time.perf_counter() - started)


async def open_loop(url: str, rate: float, seconds: float, desks: Desks) -> list[float]:
    """Post at a fixed rate; ms from when each POST was due to its offer reaching a desktop."""
    sent = await post_at_rate(url, rate, seconds)
    await asyncio.sleep(2.0)
    return [(desks.offered_at[c] - t) * 1000 for c, t in sent.items() if c in desks.offered_at]


async def post_at_rate(
    url: str,
    rate: float,
    seconds: float,
    max_connections: int = 256,
    written: dict[str, float] | None = None,
    returning: float = 0.0,
) -> dict[str, float]:
    """Post at a fixed rate (open loop): when each 202'd contact's POST was due
    (``time.perf_counter``, the system-wide monotonic clock on Linux, so other processes'
    readings compare), by contact id. The due time, not the time it went out: this
    client's own delays, and waits for one of the ``max_connections`` keep-alive
    connections when they are all awaiting answers, count in the latency, as they would
    for a gateway. ``written``: filled with when each one's request was written to its
    socket (how late this client was is that less the due time). ``returning``: the share
    of contacts from a customer who wrote before in this loop (drawn evenly among the
    customers before it; ``returning_customer``), the rest from new customers.

    Plain sockets and HTTP/1.1 written by hand: through httpx, with 2,000 desktops in the
    same process, bench/offer_latency.py asked for 440/s (half of max) got about 90/s, its
    process at 93% of a core."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    opened: list[asyncio.StreamWriter] = []
    sent: dict[str, float] = {}

    async def connection(fresh: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if not fresh and (not idle.empty() or len(opened) >= max_connections):
            return await idle.get()
        reader, writer = await asyncio.open_connection(host, port)
        opened.append(writer)
        return reader, writer

    async def post(n: int, due: float) -> None:
        payload = json.dumps(body(n, customer=returning_customer(n, returning))).encode()
        request = (
            f"POST /v1/contacts HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        for attempt in range(3):
            reader, writer = await connection(fresh=attempt > 0)
            try:
                wrote = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = CONTENT_LENGTH.search(head)
                answer = await reader.readexactly(int(length.group(1)) if length else 0)
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                # a keep-alive connection the server closed: send the same message again
                # on a new one, as a gateway would (the message id makes it safe)
                writer.close()
                opened.remove(writer)
                if attempt == 2:
                    raise
        idle.put_nowait((reader, writer))
        if head.startswith(b"HTTP/1.1 202"):
            contact_id = json.loads(answer)["contact_id"]
            sent[contact_id] = due
            if written is not None:
                written[contact_id] = wrote

    tasks = []
    begin = time.perf_counter()
    for n in range(int(rate * seconds)):
        delay = begin + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post(n, begin + n / rate)))
    await asyncio.gather(*tasks)
    for writer in opened:
        writer.close()
    return sent


def share(text: str) -> float:
    """An argparse type: a share of contacts, at least 0 and below 1."""
    value = float(text)
    if not 0.0 <= value < 1.0:  # (also refuses nan)
        raise argparse.ArgumentTypeError(f"a share from 0 to below 1, not {text}")
    return value


def returning_customer(n: int, share: float) -> int | None:
    """Contact ``n``'s customer: with probability ``share`` (the same draw for the same
    ``n``) a customer whose first contact came before it, drawn evenly among those, so the
    router knows their identity and the plan reads their history; else None (a new
    customer, ``c<n>``). Drawn among customers, not earlier contacts: a draw among contacts
    would favour whoever wrote most, and the first customers would gather hundreds."""
    draw = random.Random(n)
    if n == 0 or draw.random() >= share:
        return None
    while True:
        earlier = draw.randrange(n)
        if earlier == 0 or random.Random(earlier).random() >= share:
            return earlier  # whose first contact ``earlier`` was


async def track_lag(lag: list[float], every: float = 0.01) -> None:
    """Until cancelled, append to ``lag`` how late (s) this process's event loop woke from a
    sleep of ``every`` s: a load generator that lags puts its own delay into its figures."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(every)
        lag.append(loop.time() - started - every)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def run(agents: int, backlog: int, seconds: float, concurrency: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="centralino-bench-"))
    (work / "config.yaml").write_text(CONFIG)
    port, bare_port = free_port(), free_port()
    url, bare_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bare_port}"
    env = server_env()
    server = serve(work, port, env)
    bare = serve_bare(work, bare_port, env)
    try:
        async with httpx.AsyncClient(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}
        ) as http:
            tokens = await create_agents(http, agents)
            fill = await queue_contacts(http, backlog)
        desks = Desks(url.replace("http", "ws") + "/v1/desktop", tokens, service=0.05)
        await desks.start()
        ours = await closed_loop(url, concurrency, seconds)
        bare_rate = await closed_loop(bare_url, concurrency, seconds)
        latencies = await open_loop(url, ours / 2, seconds, desks)
        await desks.stop()
        print(
            f"agents {agents:,}, backlog {backlog:,} queued contacts (queued in {fill:.0f} s), "
            f"{concurrency} concurrent gateways, {seconds:.0f} s per measurement"
        )
        print(
            f"  max sustained intake: {ours:,.0f} contacts/s "
            f"(bare FastAPI endpoint, same payload: {bare_rate:,.0f}/s; "
            f"ratio {ours / bare_rate:.0%})"
        )
        print(
            f"  ingest-to-offer at {ours / 2:,.0f} contacts/s (50%): "
            f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms "
            f"({len(latencies):,} offers measured)"
        )
    finally:
        for proc in (server, bare):
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.agents, args.backlog, args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
