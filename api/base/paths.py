"""Paths that code outside the routes has to recognize on a raw ASGI scope.

A gateway's new contact, ``POST /v1/contacts`` (the route is in api/gateways/contacts.py),
is answered without FastAPI's routing (api/gateways/fast_intake.py), timed
(api/ops/intake_timing.py), rate-limited per gateway (api/base/limits.py) and, on a node,
stored there instead of forwarded (api/cluster/edge.py). They all match it by this one
spelling, most through ``is_intake``; tests/api/base/test_paths.py checks the app serves it.
"""

from __future__ import annotations

from api.base.asgi_types import Scope

INTAKE_PATH = "/v1/contacts"


def is_intake(scope: Scope) -> bool:
    """Whether a raw ASGI scope is a gateway's new contact: HTTP ``POST /v1/contacts``."""
    return bool(
        scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == INTAKE_PATH
    )
