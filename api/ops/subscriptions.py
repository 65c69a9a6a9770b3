"""Admin API of event subscriptions: who hears of routing decisions, how delivery goes, and
a replay for a gateway that was down. See README, "Connecting decisions back to your
platform"."""

from __future__ import annotations

import secrets
import time
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from api.base.auth import require_admin
from router.outbox.delivery import Deliveries
from router.outbox.events import EVENT_TYPES, EventType
from router.outbox.signing import new_secret
from router.outbox.store import OutboxStore
from router.store.schema import SubscriptionRow

router = APIRouter(prefix="/v1/subscriptions", tags=["decisions out"])
ADMIN = [Depends(require_admin)]
ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


def _types(value: list[str]) -> list[str]:
    return sorted(set(value))


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, pattern=ID_PATTERN, description="default: generated")
    url: HttpUrl = Field(description="where events are POSTed (https in production)")
    types: list[EventType] = Field(
        default_factory=lambda: list(EVENT_TYPES), min_length=1, description="default: all"
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="signing secret; default: generated"
    )
    start: Literal["now", "beginning"] = Field(
        "now", description="deliver events from now on, or every event still kept"
    )

    _sorted = field_validator("types")(_types)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl | None = None
    types: list[EventType] | None = Field(None, min_length=1)
    secret: str | None = Field(None, min_length=16, max_length=200)
    status: Literal["active", "disabled"] | None = None


class ReplayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after_event_id: str | None = Field(
        None, max_length=40, description="re-send every event after this one"
    )
    since: float | None = Field(
        None, ge=0, allow_inf_nan=False, description="re-send every event since this Unix time"
    )


def outbox_of(request: Request) -> tuple[OutboxStore, Deliveries]:
    deliveries: Deliveries = request.app.state.deliveries
    return deliveries.outbox, deliveries


async def view(request: Request, row: SubscriptionRow) -> dict[str, Any]:
    outbox, deliveries = outbox_of(request)
    pending = await outbox.count_after(row.cursor, list(row.types or ()))
    worker = deliveries.workers.get(row.id)
    return {
        "id": row.id,
        "kind": row.kind,
        "url": row.url,
        "types": list(row.types or []),
        "status": row.status,
        "delivering": worker is not None,
        "retrying": worker.state.retrying if worker else 0,
        "pending": pending,
        "delivered": row.delivered,
        "last_delivery_at": row.last_delivery_at,
        "last_error": row.last_error,
        "failing_since": row.failing_since,
    }


async def found(request: Request, subscription_id: str) -> SubscriptionRow:
    outbox, _ = outbox_of(request)
    row = await outbox.subscription(subscription_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {subscription_id!r}")
    return row


@router.post("", dependencies=ADMIN, status_code=status.HTTP_201_CREATED)
async def create(body: SubscriptionIn, request: Request) -> dict[str, Any]:
    """Subscribe a URL to events. The signing secret is shown only in this answer."""
    outbox, deliveries = outbox_of(request)
    subscription_id = body.id or f"sub_{secrets.token_hex(6)}"
    secret = body.secret or new_secret()
    values: dict[str, Any] = {
        "id": subscription_id,
        "kind": "webhook",
        "url": str(body.url),
        "types": body.types,
        "secret": secret,
        "status": "active",
        "created_at": time.time(),
    }
    if body.start == "beginning":
        values["cursor"] = 0
    if not await outbox.put(values):
        raise HTTPException(status.HTTP_409_CONFLICT, f"subscription {subscription_id!r} exists")
    await deliveries.refresh(subscription_id)
    return {
        "subscription": await view(request, await found(request, subscription_id)),
        "secret": secret,
    }


@router.get("", dependencies=ADMIN)
async def list_all(request: Request) -> list[dict[str, Any]]:
    outbox, _ = outbox_of(request)
    return [await view(request, row) for row in await outbox.subscriptions()]


@router.get("/{subscription_id}", dependencies=ADMIN)
async def get_one(
    request: Request, subscription_id: str = Path(pattern=ID_PATTERN)
) -> dict[str, Any]:
    return await view(request, await found(request, subscription_id))


@router.patch("/{subscription_id}", dependencies=ADMIN)
async def change(
    body: SubscriptionPatch, request: Request, subscription_id: str = Path(pattern=ID_PATTERN)
) -> dict[str, Any]:
    """Change the URL, event types or secret; disable or re-enable delivery."""
    outbox, deliveries = outbox_of(request)
    await found(request, subscription_id)
    values = body.model_dump(exclude_none=True)
    if "url" in values:
        values["url"] = str(values["url"])
    if "types" in values:
        values["types"] = sorted(set(values["types"]))
    if values.get("status") == "active":
        values["last_error"], values["failing_since"] = "", None
    if values:
        await outbox.change(subscription_id, **values)
        await deliveries.refresh(subscription_id)
    return await view(request, await found(request, subscription_id))


@router.delete("/{subscription_id}", dependencies=ADMIN, status_code=204)
async def remove(request: Request, subscription_id: str = Path(pattern=ID_PATTERN)) -> None:
    outbox, deliveries = outbox_of(request)
    if not await outbox.remove(subscription_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no subscription {subscription_id!r}")
    await deliveries.refresh(subscription_id)


@router.post("/{subscription_id}/replay", dependencies=ADMIN)
async def replay(
    body: ReplayIn, request: Request, subscription_id: str = Path(pattern=ID_PATTERN)
) -> dict[str, Any]:
    """Deliver again every event after ``after_event_id`` (or since ``since``), in order:
    for a gateway that was down or lost what it received. Receivers dedupe by event id."""
    outbox, deliveries = outbox_of(request)
    await found(request, subscription_id)
    if (body.after_event_id is None) == (body.since is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give one of after_event_id or since"
        )
    if body.after_event_id is not None:
        cursor = await outbox.seq_of(body.after_event_id)
        if cursor is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no event {body.after_event_id!r} is kept"
            )
    else:
        cursor = await outbox.seq_before(body.since or 0.0)  # set: checked just above
    await deliveries.halt(subscription_id)  # no batch in flight moves the cursor after us
    await outbox.change(subscription_id, cursor=cursor, status="active")
    await deliveries.refresh(subscription_id)
    return await view(request, await found(request, subscription_id))
