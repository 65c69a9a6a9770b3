"""Resuming a web chat after the customer's connection dropped, with the chat's own token.

When ``CENTRALINO_CHAT_RESUME_GRACE`` is above 0, the ``started`` reply carries a
``resume_token`` (random, 192 bits, kept here only as a hash). A socket that drops without
a ``leave`` parks its chat for that many seconds: what the agent writes meanwhile waits,
and a new socket whose first message is ``{"type": "resume", "session", "token"}`` picks the
chat up where it was. Only that token resumes the chat (compared in constant time); the
session id alone, which the customer's page and logs may show, gives nothing. When the
grace runs out the chat ends as if the customer had left. A chat resumes on the node that
held it (several nodes: a balancer with sticky sessions, or the chat simply ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
CLOSE_BAD_RESUME = 4403


class Resume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["resume"]
    session: str = Field(min_length=1, max_length=64)
    token: str = Field(min_length=1, max_length=100)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class ParkedChats(Generic[T]):
    """Resume tokens of live chats, and the chats waiting for their customer to return."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._tokens: dict[str, bytes] = {}
        self._parked: dict[str, tuple[T, asyncio.Task[None]]] = {}

    @property
    def enabled(self) -> bool:
        return self.grace > 0

    def issue(self, session: str) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[session] = _digest(token)
        return token

    def park(self, session: str, chat: T, expire: Callable[[], Awaitable[None]]) -> None:
        """Keep ``chat`` for ``grace`` seconds; then forget it and run ``expire``."""

        async def wait_then_expire() -> None:
            await asyncio.sleep(self.grace)
            self._parked.pop(session, None)
            self._tokens.pop(session, None)
            await expire()

        self._parked[session] = (chat, asyncio.create_task(wait_then_expire()))

    def claim(self, session: str, token: str) -> T | None:
        """The parked chat, if ``token`` is its own; it is no longer parked."""
        expected = self._tokens.get(session)
        if expected is None or not hmac.compare_digest(expected, _digest(token)):
            return None
        parked = self._parked.pop(session, None)
        if parked is None:
            return None  # live on another socket: a token does not let a second one in
        chat, timer = parked
        timer.cancel()
        return chat

    def forget(self, session: str) -> None:
        self._tokens.pop(session, None)
        parked = self._parked.pop(session, None)
        if parked is not None:
            parked[1].cancel()

    async def close(self) -> None:
        """Shutting down: expire nothing more (the router's restart handles live chats)."""
        for _, timer in self._parked.values():
            timer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*(t for _, t in self._parked.values()), return_exceptions=True)
        self._parked.clear()
