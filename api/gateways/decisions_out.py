"""Wiring of decisions out: the delivery workers of the outbox, with the sinks this node's
settings enable (signed webhooks always; Twilio call control with Twilio credentials)."""

from __future__ import annotations

import time

from api.base.settings import Settings
from channels.voice_calls import TwilioCalls
from router.outbox.delivery import Backoff, Deliveries
from router.outbox.sinks import SINKS, SinkFactory, TwilioCallSink
from router.outbox.store import OutboxStore
from router.store.repository import Store

TWILIO_CALLS = "twilio-calls"  # the built-in subscription that bridges accepted calls


def sinks_for(settings: Settings) -> dict[str, SinkFactory]:
    sinks = dict(SINKS)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        sid, token, url = (
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_api_url,
        )
        sinks["twilio_calls"] = lambda row: TwilioCallSink(TwilioCalls(sid, token, url))
    return sinks


async def open_deliveries(settings: Settings, store: Store) -> Deliveries:
    outbox = OutboxStore(store)
    if settings.twilio_account_sid and settings.twilio_auth_token:
        await outbox.put(
            {
                "id": TWILIO_CALLS,
                "kind": "twilio_calls",
                "types": ["contact.assigned"],
                "status": "active",
                "created_at": time.time(),
            }
        )
    backoff = Backoff(settings.webhook_retry_first, settings.webhook_retry_max)
    deliveries = Deliveries(outbox, sinks_for(settings), backoff)
    await deliveries.start()
    return deliveries
