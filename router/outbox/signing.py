"""Signed deliveries: HMAC-SHA256 over the timestamp and the body, Stripe style.

    Centralino-Signature: t=1764650000,v1=5257a869e7ec…(64 hex digits)

``v1`` = hex(HMAC-SHA256(secret, f"{t}.{body}")). A receiver recomputes it over the raw
body and refuses a timestamp older than its replay window (we document 5 minutes), so a
captured delivery cannot be replayed later. During a secret rotation several ``v1=`` may
be present; one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

HEADER = "Centralino-Signature"
REPLAY_WINDOW = 300.0  # seconds a receiver should accept (documented in the README)


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: float, window: float = REPLAY_WINDOW
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` within ``window`` seconds of now."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or abs(now - timestamp) > window:
        return False
    expected = sign(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
