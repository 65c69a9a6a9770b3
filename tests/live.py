"""Real servers and clients for API tests: uvicorn on loopback, websockets, httpx."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
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

    def __init__(self, app: Any, *, force_exit: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.force_exit = force_exit  # an app with endless websockets: do not wait for them
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", interface="asgi3"
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
        database: Path,
        config_path: Path,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
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
            f"sqlite+aiosqlite:///{database}",
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
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
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

    async def start(self, text: str, **fields: Any) -> dict[str, Any]:
        self.ws = await websockets.connect(self.url, additional_headers=self.headers)
        await self.ws.send(json.dumps({"type": "start", "text": text, **fields}))
        return await self.next()

    async def next(self, kind: str | None = None, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
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
