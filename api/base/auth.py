"""Bearer-token checks for ops and gateway endpoints.

Roles: the admin token may do everything on ops endpoints; the supervisor token (if one
is configured) may read (queues, agents, contacts, explanations, feedback, the
wallboard) but not change agents, tokens or rules.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request, status


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_token(request: Request, expected: str, what: str) -> None:
    token = bearer(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"{what} token required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"invalid {what} token")


def require_admin(request: Request) -> None:
    check_token(request, request.app.state.settings.admin_token, "admin")


def is_supervisor(token: str, settings: Any) -> bool:
    """The admin token, or the supervisor token when one is configured."""
    given = token.encode()
    if hmac.compare_digest(given, settings.admin_token.encode()):
        return True
    return bool(settings.supervisor_token) and hmac.compare_digest(
        given, settings.supervisor_token.encode()
    )


def require_supervisor(request: Request) -> None:
    token = bearer(request)
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "supervisor or admin token required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not is_supervisor(token, request.app.state.settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid supervisor or admin token")


def require_gateway(request: Request) -> None:
    expected = request.app.state.settings.gateway_token
    if expected:
        check_token(request, expected, "gateway")
