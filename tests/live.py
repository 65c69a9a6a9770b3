"""Real servers and clients for API tests: uvicorn on loopback, websockets, httpx."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import websockets

from api.base.settings import Settings
from api.server.app import create_app, server_options
from router.rules.loader import load_rules, parse_rules
from tests.engine_helpers import CONFIG

ADMIN = "test-admin-token"
REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer:
    """An ASGI app served by uvicorn on a free loopback port in a background thread: the
    stand-ins tests talk to (webhook subscribers, providers' APIs, a fake PBX)."""

    def __init__(self, app: Any, *, force_exit: bool = False, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.force_exit = force_exit  # an app with endless websockets: do not wait for them
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", interface="asgi3", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("loopback server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = self.force_exit
        self.thread.join(timeout=15)


class TransportWrites:
    """Stands in for a uvicorn protocol's transport and notes the size of each write to
    the socket (``sizes``); everything else goes to the transport. ``restore`` puts the
    transport back."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.sizes: list[int] = []
        protocol.transport = self

    def write(self, data: bytes) -> None:
        self.sizes.append(len(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)

    def take(self) -> int:
        """How many writes since the last ``take``."""
        writes, self.sizes = len(self.sizes), []
        return writes

    def restore(self) -> None:
        self.protocol.transport = self.transport


class ThreadServer:
    """uvicorn serving the real app in a background thread."""

    def __init__(
        self,
        database: Path,
        config: str = CONFIG,
        config_path: Path | None = None,
        log_level: str = "warning",
        **settings: Any,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/v1/desktop"
        app_settings = Settings(
            database_url=f"sqlite+aiosqlite:///{database}", admin_token=ADMIN, **settings
        )
        rules = load_rules(config_path) if config_path else parse_rules(config, "test-config.yaml")
        self.app = create_app(app_settings, rules)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_level=log_level,
                lifespan="on",
                **server_options(app_settings),
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ProcessServer:
    """``centralino serve`` as a real process, for crash (kill -9) tests."""

    def __init__(
        self,
        database: Path | str,
        config_path: Path,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        """``database``: an SQLite file, or a database URL (e.g. PostgreSQL)."""
        self.env = env or {}
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/v1/desktop"
        self.args = [
            sys.executable,
            "-m",
            "api.server.cli",
            "serve",
            "--config",
            str(config_path),
            "--port",
            str(self.port),
            "--database-url",
            database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}",
            "--log-level",
            "warning",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ProcessServer:
        env = {**os.environ, "CENTRALINO_ADMIN_TOKEN": ADMIN, **self.env}
        stderr: Any = subprocess.PIPE
        if self.log_path is not None:
            stderr = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self.args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=stderr
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if self.log_path is not None:
                    raise RuntimeError(self.log_path.read_text())
                raise RuntimeError(self.proc.stderr.read().decode() if self.proc.stderr else "")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server process did not become healthy")

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing, no lease released."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a supervisor or a rolling deploy does it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}


async def create_agent(client: httpx.AsyncClient, agent_id: str, **body: Any) -> str:
    reply = await client.put(f"/v1/agents/{agent_id}", json=body, headers=admin_headers())
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["token"]
    return token


def contact_body(message_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "gateway": "test-gw",
        "message_id": message_id,
        "channel": "chat",
        "language": "it",
        "intent": "billing",
        "customer": {"email": "Mario.Rossi@Example.it"},
        "text": "Buongiorno, ho una domanda sulla bolletta",
    }
    body.update(fields)
    return body


class Desktop:
    """A real websocket agent desktop."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.ws: Any = None
        self.welcome: dict[str, Any] = {}
        self.events: list[dict[str, Any]] = []
        self.last_seq = 0
        self._refs = 0

    async def connect(self, resume: dict[str, Any] | None = None, **login: Any) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url)
        message: dict[str, Any] = {"type": "login", "token": self.token, **login}
        if resume:
            message["resume"] = resume
        await self.ws.send(json.dumps(message))
        self.welcome = await self.recv()
        if self.welcome.get("type") == "welcome":
            self.last_seq = (
                max(self.last_seq, self.welcome["seq"]) if resume else self.welcome["seq"]
            )
        return self.welcome

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that meets
        # a message, and a desktop task told to stop went on (router/outbox/delivery.py)
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        message: dict[str, Any] = json.loads(raw)
        return message

    async def next_event(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        """The next sequenced event of this type (earlier events are kept in .events)."""
        for i, event in enumerate(self.events):
            if event["type"] == kind:
                return self.events.pop(i)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await self.recv(max(remaining, 0.01))
            if "seq" in message and message.get("type") not in ("ack", "error", "pong"):
                self.last_seq = message["seq"]
            if message["type"] == kind:
                return message
            self.events.append(message)

    async def request(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Send a message and wait for its ack or error."""
        self._refs += 1
        ref = f"r{self._refs}"
        await self.ws.send(json.dumps({"type": kind, "ref": ref, **fields}))
        while True:
            message = await self.recv()
            if message.get("ref") == ref and message["type"] in ("ack", "error", "pong"):
                return message
            if "seq" in message:
                self.last_seq = message["seq"]
            self.events.append(message)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def online_desktop(
    server: ThreadServer,
    client: httpx.AsyncClient,
    agent_id: str,
    presence: str = "available",
    **profile: Any,
) -> Desktop:
    """Create an agent with this profile and log its desktop in."""
    desk = Desktop(server.ws_url, await create_agent(client, agent_id, **profile))
    await desk.connect(presence=presence)
    return desk


class ChatCustomer:
    """A real web-chat customer (the websocket the widget opens)."""

    def __init__(self, server: ThreadServer, **headers: str) -> None:
        self.url = server.ws_url.replace("/v1/desktop", "/v1/chat")
        self.headers = headers
        self.ws: Any = None

    async def start(self, text: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url, additional_headers=self.headers)
        await self.ws.send(json.dumps({"type": "start", "text": text, **fields}))
        return await self.next(timeout=timeout)

    async def next(self, kind: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            async with asyncio.timeout(timeout):  # not wait_for: see Desktop.recv
                raw = await self.ws.recv()
            message: dict[str, Any] = json.loads(raw)
            if kind is None or message["type"] == kind:
                return message

    async def say(self, text: str) -> None:
        await self.ws.send(json.dumps({"type": "message", "text": text}))


class Captured(logging.Handler):
    """Log lines as they would be written (after the loggers' filters)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def count_rows(database: Path, table: str, where: str = "1=1") -> int:
    """Rows in a table of a server's SQLite file (to prove nothing was stored)."""
    import sqlite3

    with sqlite3.connect(database) as db:
        return int(db.execute(f"select count(*) from {table} where {where}").fetchone()[0])


# kill -9 under load (tests/router/test_crash_acks.py, bench/crash_rounds.py)


class Acks:
    """What the server acknowledged before it was killed."""

    def __init__(self, kill_after: int, kill: Any) -> None:
        self.kill_after = kill_after  # kill -9 the moment this many accepts were acked
        self.kill = kill
        self.contacts: set[str] = set()  # 202'd
        self.accepts: dict[str, tuple[str, str]] = {}  # offer id -> (agent, contact)
        self.wrap_ups: dict[str, str] = {}  # contact id -> agent


async def auto_desk(url: str, agent_id: str, token: str, acks: Acks) -> None:
    """Accept, end and wrap up everything offered; note each ack as it arrives."""
    with contextlib.suppress(websockets.ConnectionClosed, OSError):
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "login", "token": token}))
            async for raw in ws:
                event = json.loads(raw)
                kind, ref = event.get("type"), str(event.get("ref") or "")
                if kind == "offer":
                    contact_id = event["contact"]["contact_id"]
                    ref = f"accept|{event['offer_id']}|{contact_id}"
                    await ws.send(
                        json.dumps({"type": "accept", "offer_id": event["offer_id"], "ref": ref})
                    )
                elif kind == "ack" and ref.startswith("accept|"):
                    _, offer_id, contact_id = ref.split("|")
                    acks.accepts[offer_id] = (agent_id, contact_id)
                    if len(acks.accepts) == acks.kill_after:
                        acks.kill()  # at once: an ack sent before its commit would be lost
                        return
                    await ws.send(
                        json.dumps(
                            {"type": "end", "contact_id": contact_id, "ref": f"end|{contact_id}"}
                        )
                    )
                elif kind == "ack" and ref.startswith("end|"):
                    contact_id = ref.split("|")[1]
                    message = {
                        "type": "wrap_up",
                        "contact_id": contact_id,
                        "outcome": "ok",
                        "resolved": True,
                        "ref": f"wrap|{contact_id}",
                    }
                    await ws.send(json.dumps(message))
                elif kind == "ack" and ref.startswith("wrap|"):
                    acks.wrap_ups[ref.split("|")[1]] = agent_id


async def gateway(url: str, acks: Acks, stop: asyncio.Event, name: str = "crash") -> None:
    """Post billing contacts back to back (message ids name-1, name-2...) until stopped or
    the server is gone."""
    n = 0
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        while not stop.is_set():
            n += 1
            try:
                reply = await http.post("/v1/contacts", json=contact_body(f"{name}-{n}"))
            except httpx.HTTPError:
                return  # the server is gone
            if reply.status_code == 202:
                acks.contacts.add(reply.json()["contact_id"])


async def load_until_killed(
    server: ProcessServer,
    acks: Acks,
    *,
    gateways: int,
    timeout: float,
    agents: int = 3,
    prefix: str = "",
) -> None:
    """``agents`` agents (k0, k1...; k<prefix>0... with a prefix) accepting, ending and
    wrapping up everything, and ``gateways`` gateways posting contacts, until a desktop
    kills the server (``acks.kill``); then all stop."""
    assert server.proc is not None
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            for i in range(agents):
                agent_id = f"k{prefix}{i}"
                token = await create_agent(
                    http, agent_id, skills={"billing": 5}, languages=["it"], capacity={"chat": 3}
                )
                tasks.append(asyncio.create_task(auto_desk(server.ws_url, agent_id, token, acks)))
        # without a prefix the gateways share message ids (one's post can be a retry of
        # another's); with one (rounds on one database) each has its own
        names = [f"crash{prefix}-{g}" if prefix else "crash" for g in range(gateways)]
        tasks += [asyncio.create_task(gateway(server.url, acks, stop, name)) for name in names]
        deadline = asyncio.get_running_loop().time() + timeout
        while server.proc.poll() is None:  # killed by a desktop, mid-flow
            assert asyncio.get_running_loop().time() < deadline, "the desktops made no progress"
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if server.proc.poll() is None:
            server.kill()
        server.proc.wait(timeout=10)


async def query(database: Path | str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a server's database: an SQLite file, or a PostgreSQL URL."""
    if isinstance(database, Path):
        import sqlite3

        with sqlite3.connect(database) as db:
            return list(db.execute(sql).fetchall())
    import asyncpg  # type: ignore[import-untyped, unused-ignore]

    conn = await asyncpg.connect(database.replace("+asyncpg", ""))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


@dataclass
class CrashAudit:
    """What the database holds of what was acknowledged before a kill -9."""

    stored: dict[str, tuple[str, str | None]]  # contact id -> (state, agent)
    lost_contacts: set[str] = field(default_factory=set)  # 202'd, not stored
    lost_accepts: dict[str, tuple[str, str]] = field(default_factory=dict)  # not accepted
    lost_wrap_ups: dict[str, str] = field(default_factory=dict)  # not completed by that agent
    doubled: list[str] = field(default_factory=list)  # contacts with two accepted offers

    @property
    def waiting(self) -> set[str]:
        """Stored contacts still to be routed: queued or offered, or stored but not yet
        planned when the server died ("received")."""
        waiting = ("received", "queued", "offered")
        return {c for c, (state, _) in self.stored.items() if state in waiting}


async def audit(database: Path | str, acks: Acks) -> CrashAudit:
    stored = {
        row[0]: (row[1], row[2])
        for row in await query(database, "select id, state, agent_id from contacts")
    }
    accepted = {
        offer_id: (agent, contact)
        for offer_id, agent, contact in await query(
            database, "select id, agent_id, contact_id from offers where outcome = 'accepted'"
        )
    }
    doubled = await query(
        database,
        "select contact_id from offers where outcome = 'accepted' "
        "group by contact_id having count(*) > 1",
    )
    return CrashAudit(
        stored,
        acks.contacts - set(stored),
        {o: a for o, a in acks.accepts.items() if accepted.get(o) != a},
        {c: a for c, a in acks.wrap_ups.items() if stored.get(c) != ("completed", a)},
        [row[0] for row in doubled],
    )


async def not_routed_again(server: ProcessServer, waiting: set[str], queue: str) -> set[str]:
    """Of the contacts waiting at the kill, those the restarted server does not hold in the
    queue (and any it holds there that were not waiting). Past the listing's 1,000 the
    counts are compared (a difference shows as the string "count: held N, waiting M")."""
    async with httpx.AsyncClient(base_url=server.url, headers=admin_headers()) as http:
        reply = await http.get(f"/v1/queues/{queue}/contacts?limit=1000")
        held = {c["contact_id"] for c in reply.json()}
        if len(waiting) <= 1000:
            return waiting ^ held
        metrics = (await http.get("/metrics")).text
    from prometheus_client.parser import text_string_to_metric_families

    count = sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "centralino_queue_waiting" and sample.labels["queue"] == queue
    )
    if count != len(waiting) or not held <= waiting:
        return {f"count: held {count:.0f}, waiting {len(waiting)}"} | (held - waiting)
    return set()
