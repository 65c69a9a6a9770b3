"""What every channel adapter shares: the raw request, our error types, the events it
produces, and the registry keyed by config name.

An adapter is small and alike: verify (signature, token) -> parse (its wire format) ->
normalize (InboundEvent). It knows nothing about agents or queues. Vendor and parsing
errors are turned into ChannelError here, at the boundary, so the API maps them to clear
4xx answers and nothing is stored.
"""

from __future__ import annotations

import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from channels.contact import InboundContact


class ChannelError(Exception):
    """A request a channel refuses; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(ChannelError):
    """Missing credentials (no signature, no token)."""

    status = 401


class Forbidden(ChannelError):
    """Credentials that do not match (forged or stale signature, wrong token)."""

    status = 403


class BadPayload(ChannelError):
    """Malformed or incomplete payload; the message says what is wrong."""

    status = 422


class UnknownThread(ChannelError):
    """An update for a call, chat or thread we never saw."""

    status = 404


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int

    def as_dict(self) -> dict[str, str | int]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass(frozen=True, slots=True)
class RawRequest:
    method: str
    url: str  # as the gateway called it (for signatures)
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    form: Mapping[str, str] = field(default_factory=dict)
    files: tuple[Attachment, ...] = ()  # uploaded files: noted, not kept

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class Inbound:
    """A customer's message that starts a contact, or continues a live one on the same
    thread (``thread_keys``). ``reply_keys`` point at an earlier contact this replies to:
    its agent is preferred even if that contact is over."""

    contact: InboundContact
    thread_keys: tuple[str, ...] = ()
    reply_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    """More text on an existing contact (a transcript segment of a call, say)."""

    gateway: str
    thread_key: str
    text: str
    kind: str = "message"
    external_id: str | None = None
    sentiment: float | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """The customer left (hung up, closed the chat): abandoned if not yet answered."""

    gateway: str
    thread_key: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class OptOut:
    """The customer asked for no more messages on a platform (SMS STOP), or back (START)."""

    gateway: str
    platform: str
    address: str
    opted_out: bool = True
    keyword: str = ""


InboundEvent = Inbound | Message | Ended | OptOut


@dataclass(frozen=True, slots=True)
class Reply:
    """What the adapter answers the gateway with (a challenge echo, TwiML...)."""

    body: bytes | str
    media_type: str = "text/plain"
    status: int = 200


class ChannelAdapter(ABC):
    """One channel family's wire format. Subclasses set ``name`` (the registry key)."""

    name: ClassVar[str]

    @abstractmethod
    def parse(self, request: RawRequest) -> list[InboundEvent]:
        """Verify the request, then turn it into events. Raises ChannelError."""

    def handshake(self, request: RawRequest) -> Reply:
        """GET verification challenges (Meta, X); most channels have none."""
        raise ChannelError(f"{self.name} has no verification handshake")

    def acknowledge(
        self, events: list[InboundEvent], results: list[dict[str, Any]] | None = None
    ) -> Reply:
        """The answer once the events are stored (``results``: what intake made of each)."""
        return Reply(b"", "text/plain", 200)


REGISTRY: dict[str, Callable[..., ChannelAdapter]] = {}


def register(cls: type[ChannelAdapter]) -> type[ChannelAdapter]:
    REGISTRY[cls.name] = cls
    return cls


def hmac_hex(secret: str, payload: bytes, digest: str = "sha256") -> str:
    return hmac.new(secret.encode(), payload, getattr(hashlib, digest)).hexdigest()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of signatures and tokens."""
    return hmac.compare_digest(given.encode(), expected.encode())
