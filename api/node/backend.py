"""State backends: where the router's live state lives and how nodes reach it.

One small interface, a registry keyed by the name used in settings
(``CENTRALINO_STATE_BACKEND``):

- ``memory`` (default): one process; the router stack opens with the app and endpoints
  call it directly. Needs no Redis.
- ``redis``: several nodes share a Redis (``CENTRALINO_REDIS_URL``). Every node serves
  gateways and desktops and hands the work to the one active router through Redis; every
  node is also a standby router (api/redis_backend.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from fastapi import FastAPI

from api.settings import Settings
from api.stack import RouterStack, close_stack, open_stack
from router.rules.loader import RuleSet


class SettingsError(ValueError):
    """Settings that cannot work together; the message says which and what to set."""


def check_settings(settings: Settings) -> None:
    name = settings.backend_name()
    if name not in {*BACKENDS, "redis"}:
        known = ", ".join(sorted({*BACKENDS, "redis"}))
        raise SettingsError(f"unknown state backend {name!r} (known: {known})")
    if name == "redis":
        if not settings.redis_url:
            raise SettingsError("state backend 'redis' needs CENTRALINO_REDIS_URL")
        if not settings.admin_token:
            raise SettingsError(
                "several nodes need one admin token: set CENTRALINO_ADMIN_TOKEN on every node"
            )


class StateBackend(ABC):
    name: ClassVar[str]

    def __init__(self, app: FastAPI, settings: Settings, rules: RuleSet) -> None:
        self.app = app
        self.settings = settings
        self.rules = rules

    @abstractmethod
    async def start(self) -> None:
        """Ready to serve requests when this returns."""

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def health(self) -> dict[str, Any]:
        """This node's part in routing, for /healthz."""


class MemoryBackend(StateBackend):
    name = "memory"

    async def start(self) -> None:
        self.stack: RouterStack = await open_stack(self.app, self.settings, self.rules)

    async def stop(self) -> None:
        await close_stack(self.app, self.stack)

    def health(self) -> dict[str, Any]:
        engine = self.stack.runtime.engine
        return {
            "status": "ok",
            "backend": self.name,
            "agents": len(engine.agents),
            "live_contacts": len(engine.contacts),
        }


BACKENDS: dict[str, type[StateBackend]] = {MemoryBackend.name: MemoryBackend}


def register(backend: type[StateBackend]) -> type[StateBackend]:
    BACKENDS[backend.name] = backend
    return backend


def backend_for(app: FastAPI, settings: Settings, rules: RuleSet) -> StateBackend:
    name = settings.backend_name()
    if name == "redis":
        import api.redis_backend  # noqa: F401  (registers itself; imports redis only if used)
    check_settings(settings)
    return BACKENDS[name](app, settings, rules)
