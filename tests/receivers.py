"""A small HTTP server on loopback that records what it is sent and answers as a test says:
the subscriber of event webhooks, or a provider's REST API (Twilio's Calls resource)."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from tests.live import LoopbackServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode()).items()}


Answer = Callable[[Received], tuple[int, bytes]]


def ok(_request: Received) -> tuple[int, bytes]:
    return 200, b'{"ok": true}'


class Receiver:
    def __init__(self, answer: Answer = ok) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.answered: list[tuple[Received, int]] = []
        self._lock = threading.Lock()
        self.loopback = LoopbackServer(self.app)
        self.url = self.loopback.url

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        request = Received(
            scope["method"],
            scope["path"],
            {k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body,
        )
        status, reply = self.answer(request)
        with self._lock:
            self.answered.append((request, status))
            if status < 300:
                self.received.append(request)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    def start(self) -> Receiver:
        self.loopback.start()
        return self

    def stop(self) -> None:
        self.loopback.stop()

    def accepted(self) -> list[Received]:
        with self._lock:
            return list(self.received)


async def until(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Wait for a condition (polling; ``check`` may return a value or an awaitable one);
    fail with ``what`` after a generous deadline. Returns the first true value."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def eventually(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 60.0) -> None:
    """Wait for an asynchronous condition: ``until`` with the cluster tests' longer
    deadline and a name for what is awaited."""
    await until(check, timeout, what)
