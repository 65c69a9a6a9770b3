"""Who a web-chat visitor is, as the embedding site vouches for it.

The site, which knows its logged-in customer, signs a short statement with a secret it
shares with centralino, and the widget passes it in the chat's start message::

    canonical = "centralino-chat-identity:v1\\n" + key_id + "\\n" + issued_at + "\\n" + subject
    subject   = "user:" + user_id         (a stable account id: preferred)
              | "email:" + email           (trimmed, lower case)
    signature = hex(HMAC-SHA256(secret of key_id, canonical))

``issued_at`` is Unix seconds. A statement is good for ``max_age`` seconds (and at most
``skew`` seconds in the future), compared in constant time; the key id picks the secret,
so a site rotates by adding a new key id, moving to it, then removing the old one. Unlike
a bare hash of the user id, a leaked statement expires.

Anything else (no statement, an unknown key, a wrong or stale signature) is not trusted:
the chat gets a fresh customer of its own (channels/contact.py, ``verified=False``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

PREFIX = "centralino-chat-identity:v1"
KEY_ID = r"^[A-Za-z0-9_.-]{1,64}$"


class UntrustedIdentity(ValueError):
    """Why a signed identity was not accepted (safe to show to the visitor)."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """'site-2025:secret1, site-2026:secret2' -> {key id: secret}; ValueError if malformed."""
    keys: dict[str, bytes] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id.strip() or len(secret.strip()) < 16:
            raise ValueError("chat identity keys are 'key_id:secret' (secret of 16+ characters)")
        keys[key_id.strip()] = secret.strip().encode()
    return keys


def subject(user_id: str | None, email: str | None) -> str:
    if user_id:
        return "user:" + user_id
    if email:
        return "email:" + email.strip().lower()
    raise UntrustedIdentity("a signed identity names a user_id or an email")


def canonical(subject_text: str, key_id: str, issued_at: int) -> bytes:
    return f"{PREFIX}\n{key_id}\n{issued_at}\n{subject_text}".encode()


def sign(
    secret: str | bytes,
    key_id: str,
    issued_at: int,
    user_id: str | None = None,
    email: str | None = None,
) -> str:
    """The signature an embedding site computes (here for tests and the docs' example)."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = canonical(subject(user_id, email), key_id, issued_at)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifiedVisitor:
    user_id: str | None
    email: str | None
    key_id: str


class IdentityKeys:
    def __init__(self, keys: dict[str, bytes], max_age: float, skew: float = 60.0) -> None:
        self.keys = keys
        self.max_age = max_age
        self.skew = skew

    def verify(
        self,
        key_id: str,
        issued_at: int,
        signature: str,
        now: float,
        user_id: str | None = None,
        email: str | None = None,
    ) -> VerifiedVisitor:
        """The visitor the site vouches for; UntrustedIdentity otherwise."""
        secret = self.keys.get(key_id)
        if secret is None:
            raise UntrustedIdentity(f"unknown identity key {key_id[:64]!r}")
        if issued_at > now + self.skew:
            raise UntrustedIdentity("identity issued in the future")
        if now - issued_at > self.max_age:
            raise UntrustedIdentity("identity expired: sign a fresh one")
        expected = hmac.new(
            secret, canonical(subject(user_id, email), key_id, issued_at), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode()):
            raise UntrustedIdentity("identity signature does not match")
        normalized = email.strip().lower() if email and not user_id else None
        return VerifiedVisitor(user_id or None, normalized, key_id)
