"""Password hashing with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashing is slow on purpose (tens of milliseconds), so it runs in a worker thread.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHER = PasswordHasher()
MIN_LENGTH = 10
# verified when the user is unknown, so "no such user" takes as long as "wrong password"
_DUMMY = HASHER.hash("centralino-no-such-user")


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise WeakPassword("a password may have at most 1024 characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_in_thread(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_in_thread(stored: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored, password)
