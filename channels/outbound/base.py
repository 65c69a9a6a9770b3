"""What every outbound sender shares: the reply to send, what came of it, our error types
and the registry keyed by config name.

A sender is the two-way half of a channel adapter: one small interface (``send``), several
implementations (SMTP, Meta's send endpoints, X direct messages, a Twilio-style messages
API). Provider errors are converted here, at the boundary, into three kinds the outbox
acts on:

- ``Permanent``: the provider refused and will refuse again (bad recipient, opted out,
  window closed). Shown to the agent with the provider's reason; never resent.
- ``Retryable``: the provider certainly did not take it (connection refused, 429, 503).
  The outbox may send it again after a pause.
- ``Ambiguous``: it may or may not have been sent (a timeout after the request left, a
  502/504). Never resent automatically: the agent sees ``unknown``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx


class DeliveryError(Exception):
    """A reply the provider did not (certainly) take; ``reason`` is safe to show."""

    kind: ClassVar[str] = "failed"

    def __init__(self, reason: str, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason[:500]
        self.code = code  # the provider's own error code, when it gave one


class Permanent(DeliveryError):
    kind = "failed"


class Retryable(DeliveryError):
    kind = "retryable"


class Ambiguous(DeliveryError):
    kind = "unknown"


class OptedOut(Permanent):
    """The recipient unsubscribed (SMS STOP): nothing may be sent until they opt in."""


@dataclass(frozen=True, slots=True)
class Template:
    """A provider-approved template (WhatsApp outside the 24-hour window)."""

    name: str
    language: str = "en_US"


@dataclass(frozen=True, slots=True)
class Outbound:
    """One reply to one customer. ``key`` is stable for this reply (the outbox row id): the
    idempotency key where a provider has one, and the email's Message-ID."""

    key: str
    platform: str  # email | messenger | instagram | whatsapp | x | sms
    to: str  # an address, a platform user id, an E.164 number
    text: str
    subject: str = ""
    message_id: str = ""  # email: our Message-ID
    in_reply_to: str = ""  # email: the customer's last Message-ID
    references: tuple[str, ...] = ()
    template: Template | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Sent:
    provider_id: str = ""  # the provider's message id (wamid, SM..., dm_event_id...)


class Sender(ABC):
    """Sends replies on one provider. Subclasses set ``name`` (the registry key) and the
    ``platforms`` they serve."""

    name: ClassVar[str]
    platforms: ClassVar[frozenset[str]]

    @abstractmethod
    async def send(self, message: Outbound) -> Sent:
        """Send, or raise Permanent, Retryable or Ambiguous."""

    async def close(self) -> None:  # noqa: B027  (optional hook: most senders hold a client)
        """Release connections (an httpx client)."""


SENDERS: dict[str, Callable[..., Sender]] = {}


def register_sender(cls: type[Sender]) -> type[Sender]:
    SENDERS[cls.name] = cls
    return cls


def http_client(base_url: str, timeout: float, **options: Any) -> httpx.AsyncClient:
    """The client a sender calls its provider with (no redirects, explicit timeouts)."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        **options,
    )


async def post(client: httpx.AsyncClient, url: str, **request: Any) -> httpx.Response:
    """POST, with transport errors converted: nothing sent -> Retryable; sent but no
    answer -> Ambiguous."""
    try:
        return await client.post(url, **request)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise Retryable(f"could not reach the provider: {type(exc).__name__}") from exc
    except httpx.TimeoutException as exc:
        raise Ambiguous(f"no answer from the provider in time ({type(exc).__name__})") from exc
    except httpx.HTTPError as exc:
        raise Ambiguous(f"the connection to the provider failed: {type(exc).__name__}") from exc


def by_status(status: int, reason: str, code: str = "") -> DeliveryError:
    """An HTTP error status as our error kind."""
    if status in (408, 429, 503):
        return Retryable(f"{status}: {reason}", code)
    if status >= 500:
        return Ambiguous(f"{status}: {reason}", code)
    return Permanent(f"{status}: {reason}", code)


def json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
