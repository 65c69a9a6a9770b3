"""Bearer-token checks for ops and gateway endpoints."""

from __future__ import annotations

import hmac

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


def require_gateway(request: Request) -> None:
    expected = request.app.state.settings.gateway_token
    if expected:
        check_token(request, expected, "gateway")
