"""The state-backend interface: where the router's live state lives and how this node
reaches it.

One small interface; the registry keyed by the name used in settings
(``CENTRALINO_STATE_BACKEND``) is in api/server/backends.py. Implementations:

- ``memory`` (api/node/memory.py, default): one process; the router stack opens with the
  app and endpoints call it directly. Needs no Redis.
- ``redis`` (api/cluster/backend.py): several nodes share a Redis. Every node serves
  gateways and desktops and hands the work to the one active router through Redis; every
  node is also a standby router.

The websocket endpoints (desktop, web chat, wallboard) accept the socket and hand it to the
backend, so an endpoint never needs to know which backend runs it.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from fastapi import FastAPI, WebSocket

from api.base.sessions import SESSION_COOKIE, Principal, principal_from_cookies
from api.base.settings import Settings
from router.rules.loader import RuleSet


class SettingsError(ValueError):
    """Settings that cannot work together; the message says which and what to set."""


class StateBackend(ABC):
    name: ClassVar[str]

    def __init__(self, app: FastAPI, settings: Settings, rules: RuleSet) -> None:
        self.app = app
        self.settings = settings
        self.rules = rules

    @classmethod
    def install(cls, app: FastAPI) -> None:
        """Add what this backend needs around the app (middleware); called when the app is
        built, before ``start``. Nothing by default."""
        return None

    @abstractmethod
    async def start(self) -> None:
        """Ready to serve requests when this returns."""

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """This node's part in routing, for /healthz."""

    @abstractmethod
    async def serve_desktop(self, websocket: WebSocket) -> None:
        """An agent desktop's accepted websocket, from login to close."""

    @abstractmethod
    async def serve_chat(self, websocket: WebSocket) -> None:
        """A web-chat customer's accepted websocket, from start to close."""

    @abstractmethod
    async def serve_wallboard(self, websocket: WebSocket, closed: asyncio.Task[None]) -> None:
        """Snapshots to a signed-in wallboard until ``closed`` (the page went away) is done."""

    async def principal(self, session_cookie: str) -> Principal | None:
        """The signed-in user of this session cookie (api/base/sessions.py), checked where
        the store is: here by default; the Redis backend asks the active router."""
        return await principal_from_cookies(self.app, {SESSION_COOKIE: session_cookie})
