"""The registry of state backends, keyed by the name used in settings
(``CENTRALINO_STATE_BACKEND``). The interface is api/node/backend.py.

The redis backend is imported only when it is chosen, so a single-node process never
loads Redis code.
"""

from __future__ import annotations

from collections.abc import Callable

from api.base.settings import Settings
from api.node.backend import SettingsError, StateBackend
from api.node.memory import MemoryBackend


def _redis() -> type[StateBackend]:
    from api.cluster.backend import RedisBackend

    return RedisBackend


BACKENDS: dict[str, Callable[[], type[StateBackend]]] = {
    MemoryBackend.name: lambda: MemoryBackend,
    "redis": _redis,
}


def check_settings(settings: Settings) -> None:
    name = settings.backend_name()
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise SettingsError(f"unknown state backend {name!r} (known: {known})")
    if name == "redis":
        if not settings.redis_url:
            raise SettingsError("state backend 'redis' needs CENTRALINO_REDIS_URL")
        if not settings.admin_token:
            raise SettingsError(
                "several nodes need one admin token: set CENTRALINO_ADMIN_TOKEN on every node"
            )


def backend_type(settings: Settings) -> type[StateBackend]:
    """The backend these settings name (SettingsError if they cannot work)."""
    check_settings(settings)
    return BACKENDS[settings.backend_name()]()
