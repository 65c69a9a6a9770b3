"""Bearer-token checks for ops and gateway endpoints.

Roles: the admin token may do everything on ops endpoints; the supervisor token (if one
is configured) may read (queues, agents, contacts, explanations, feedback, the
wallboard) but not change agents, tokens or rules. Without a bearer token, a signed-in
user's session (api/base/sessions.py) with the role admin, or supervisor for reading,
does the same; a change then needs the session's CSRF header.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request, status

from api.base.asgi_types import Scope
from api.base.sessions import CSRF_HEADER, Principal, csrf_ok, principal_from_cookies


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def scope_bearer(scope: Scope) -> str | None:
    """The bearer token of a raw ASGI request (the first Authorization header), as
    ``bearer`` reads it from a Request."""
    for name, value in scope.get("headers") or []:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return str(token.strip())
            return None
    return None


def carries_token(scope: Scope, expected: str) -> bool:
    """The raw request's bearer token is ``expected`` (compared in constant time)."""
    token = scope_bearer(scope)
    return token is not None and hmac.compare_digest(token.encode(), expected.encode())


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


async def session_of(request: Request, role: str) -> Principal | None:
    """Who, signed in with a session of ``role`` or higher, makes this request (403 if the
    role is lower or a change comes without the CSRF header); None without a session."""
    principal = await principal_from_cookies(request.app, request.cookies)
    if principal is None:
        return None
    if not principal.at_least(role):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"signed in as {principal.role}: {role} needed"
        )
    if not csrf_ok(principal, request.method, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong X-CSRF-Token")
    return principal


async def by_session(request: Request, role: str) -> bool:
    """True when a signed-in session of ``role`` or higher makes this request."""
    return await session_of(request, role) is not None


async def require_admin(request: Request) -> None:
    if bearer(request) is None and await by_session(request, "admin"):
        return
    check_token(request, request.app.state.settings.admin_token, "admin")


def is_supervisor(token: str, settings: Any) -> bool:
    """The admin token, or the supervisor token when one is configured."""
    given = token.encode()
    if hmac.compare_digest(given, settings.admin_token.encode()):
        return True
    return bool(settings.supervisor_token) and hmac.compare_digest(
        given, settings.supervisor_token.encode()
    )


async def require_supervisor(request: Request) -> None:
    token = bearer(request)
    if token is None and await by_session(request, "supervisor"):
        return
    if token is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "supervisor or admin token required (Authorization: Bearer ...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not is_supervisor(token, request.app.state.settings):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid supervisor or admin token")


async def require_gateway(request: Request) -> None:
    # async: FastAPI runs a plain def dependency in a worker thread, a hop per request
    expected = request.app.state.settings.gateway_token
    if expected:
        check_token(request, expected, "gateway")
