"""Where gateway events go: one tiny interface, a registry keyed by subscription kind.

- ``webhook``: a signed HTTP POST of the event to the subscriber's URL.
- ``twilio_calls``: built in; bridges a held Twilio call to the agent who accepted it.

A sink raises ``DeliveryFailed`` with ``retry`` set when trying later may help (timeouts,
5xx, 429) and unset when it cannot (a 4xx answer, a call that is over).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from channels.outbound.base import DeliveryError, Permanent, by_status, http_client, post
from channels.voice_calls import CallGone, TwilioCalls, bridge_twiml
from router.outbox.signing import HEADER, sign
from router.store.schema import SubscriptionRow


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool, gone: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retry = retry
        self.gone = gone  # the subscriber asked never to be called again (410)


def failed(error: DeliveryError, prefix: str = "") -> DeliveryFailed:
    """A provider error (channels/outbound/base.py) as a delivery outcome: only a permanent
    refusal is given up; what was not taken, or maybe taken, is delivered again."""
    return DeliveryFailed(prefix + error.reason, retry=not isinstance(error, Permanent))


class Sink(Protocol):
    async def deliver(self, event: dict[str, Any]) -> None: ...

    async def aclose(self) -> None: ...


SinkFactory = Callable[[SubscriptionRow], Sink]
SINKS: dict[str, SinkFactory] = {}


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookSink:
    """POST each event as JSON, signed with the subscription's secret."""

    def __init__(self, url: str, secret: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = url
        self.secret = secret
        self._client = client or http_client("", 10.0)

    async def deliver(self, event: dict[str, Any]) -> None:
        body = encode(event)
        headers = {
            "content-type": "application/json",
            "user-agent": "centralino-webhooks/1",
            HEADER: sign(self.secret, body, int(time.time())),
            "Centralino-Event-Id": str(event["id"]),
            "Centralino-Event-Type": str(event["type"]),
        }
        try:
            response = await post(self._client, self.url, content=body, headers=headers)
        except DeliveryError as exc:  # no answer: maybe received, so sent again (at least once)
            raise failed(exc) from exc
        status = response.status_code
        if status < 300:
            return
        if status == 410:
            raise DeliveryFailed(f"HTTP 410: {response.text[:200]}", retry=False, gone=True)
        raise failed(by_status(status, response.text[:200]), prefix="HTTP ")

    async def aclose(self) -> None:
        await self._client.aclose()


class TwilioCallSink:
    """On ``contact.assigned`` of a call that came through Twilio, redirect the held call
    to the agent's endpoint. Other events and channels are not its business."""

    def __init__(self, calls: TwilioCalls, gateway: str = "twilio") -> None:
        self.calls = calls
        self.gateway = gateway

    async def deliver(self, event: dict[str, Any]) -> None:
        contact = event.get("contact") or {}
        if event.get("type") != "contact.assigned" or contact.get("channel") != "voice":
            return
        if contact.get("gateway") != self.gateway or not contact.get("external_id"):
            return
        call_sid = str(contact["external_id"])  # the contact's message id is the CallSid
        try:
            await self.calls.redirect(call_sid, bridge_twiml(event["data"]["agent"]["endpoint"]))
        except CallGone:
            return  # the caller hung up first: the status callback ends the contact
        except DeliveryError as exc:  # redirecting twice is harmless: an unknown one is retried
            raise failed(exc) from exc

    async def aclose(self) -> None:
        await self.calls.aclose()


def register(kind: str, factory: SinkFactory) -> None:
    SINKS[kind] = factory


register("webhook", lambda row: WebhookSink(row.url, row.secret))
