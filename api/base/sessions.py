"""Signed-in browsers: the session cookie, who it belongs to, and CSRF.

A session is a random id in an HttpOnly, SameSite=Lax cookie (Secure when
``CENTRALINO_SESSION_COOKIE_SECURE`` is on); the database keeps only its SHA-256, the user,
a per-session CSRF secret, when it expires and whether it was revoked. Every use reads the
row, so a revoked session or a disabled user stops at once. The role is the user's current
one (agent < supervisor < admin).

Requests that change something with a session cookie must send the session's CSRF secret in
``X-CSRF-Token`` (the pages get it from ``GET /v1/session``); websockets signed in by cookie
must come from this origin (``Origin`` checked).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SESSION_COOKIE = "centralino_session"
CSRF_HEADER = "x-csrf-token"
ROLES = ("agent", "supervisor", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    user: str
    display_name: str
    role: str
    agent_id: str | None
    csrf: str
    session_hash: str
    expires_at: float

    def at_least(self, role: str) -> bool:
        return RANK.get(self.role, -1) >= RANK[role]


def hash_id(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _accounts(app: Any) -> Any:
    runtime = getattr(app.state, "runtime", None)
    return getattr(getattr(runtime, "store", None), "accounts", None)


async def principal_from_cookies(app: Any, cookies: Mapping[str, str]) -> Principal | None:
    """The signed-in user of these cookies, or None (no cookie, unknown, expired, revoked,
    user disabled or gone)."""
    raw = cookies.get(SESSION_COOKIE, "")
    accounts = _accounts(app)
    if not raw or len(raw) > 200 or accounts is None:
        return None
    row = await accounts.session(hash_id(raw))
    if row is None or row.revoked_at is not None or row.expires_at <= time.time():
        return None
    user = await accounts.user(row.user_name)
    if user is None or user.disabled:
        return None
    return Principal(
        user=user.name,
        display_name=user.display_name or user.name,
        role=user.role,
        agent_id=user.agent_id,
        csrf=row.csrf,
        session_hash=row.id_hash,
        expires_at=row.expires_at,
    )


def csrf_ok(principal: Principal, method: str, header: str | None) -> bool:
    """A safe method, or the session's CSRF secret in the header."""
    if method.upper() in SAFE_METHODS:
        return True
    return bool(header) and hmac.compare_digest(str(header).encode(), principal.csrf.encode())


def same_origin(headers: Mapping[str, str]) -> bool:
    """A websocket handshake from a page of this host (browsers always send Origin)."""
    origin = headers.get("origin", "")
    host = headers.get("host", "")
    if not origin or not host:
        return False
    return origin.split("://", 1)[-1] == host
