"""Pull delivery of gateway events, for gateways that prefer to ask: a batch by long poll
(``GET /v1/events``) or a server-sent event stream (``GET /v1/events/stream``), both
resumable by event id. The gateway token guards both (the admin token when no gateway token
is configured, since events name customers and agents).

The stream reads committed events, so it never shows a decision that was rolled back.
On several nodes, requests run on the active router through the command stream, which
answers whole: use webhooks or the long poll there, not the stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse

from api.base.auth import check_token
from router.outbox.delivery import Deliveries
from router.outbox.store import OutboxStore, StoredEvent

router = APIRouter(prefix="/v1/events", tags=["decisions out"])
POLL = 0.25  # seconds between reads of new events while a client waits
HEARTBEAT = 15.0


async def require_events_reader(request: Request) -> None:
    settings = request.app.state.settings
    if settings.gateway_token:
        check_token(request, settings.gateway_token, "gateway")
    else:
        check_token(request, settings.admin_token, "admin")


def outbox_of(request: Request) -> OutboxStore:
    deliveries: Deliveries = request.app.state.deliveries
    return deliveries.outbox


async def cursor_after(outbox: OutboxStore, event_id: str | None) -> int:
    """The position just after ``event_id``; none: the newest event (only what comes)."""
    if not event_id:
        return await outbox.last_seq()
    if event_id == "0":
        return 0
    seq = await outbox.seq_of(event_id)
    if seq is None:
        raise HTTPException(
            status.HTTP_410_GONE,
            f"no event {event_id!r} is kept: resume with after=0 for every kept event",
        )
    return seq


def wanted_types(types: str) -> list[str]:
    return [t.strip() for t in types.split(",") if t.strip()]


@router.get("", dependencies=[Depends(require_events_reader)])
async def poll(
    request: Request,
    after: str | None = Query(None, max_length=40, description="an event id, or 0"),
    types: str = Query("", max_length=500, description="comma-separated; default all"),
    limit: int = Query(100, ge=1, le=1000),
    wait: float = Query(0, ge=0, le=25, description="seconds to wait for a first event"),
) -> dict[str, Any]:
    """Events after ``after`` (or from now), oldest first; ``next`` resumes after them."""
    outbox = outbox_of(request)
    seq = await cursor_after(outbox, after)
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        events = await outbox.events_after(seq, limit, wanted_types(types))
        if events or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(POLL)
    last = events[-1].payload["id"] if events else after
    return {"events": [event.payload for event in events], "next": last}


def sse(event: StoredEvent) -> bytes:
    data = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.payload['id']}\nevent: {event.type}\ndata: {data}\n\n".encode()


@router.get("/stream", dependencies=[Depends(require_events_reader)])
async def stream(
    request: Request,
    after: str | None = Query(None, max_length=40, description="an event id, or 0"),
    types: str = Query("", max_length=500),
    last_event_id: str | None = Header(None, max_length=40),
) -> StreamingResponse:
    """Server-sent events; a reconnecting EventSource resumes with Last-Event-ID."""
    outbox = outbox_of(request)
    seq = await cursor_after(outbox, last_event_id or after)
    kinds = wanted_types(types)

    async def body() -> AsyncIterator[bytes]:
        nonlocal seq
        yield b": centralino events\n\n"
        quiet = 0.0
        while not await request.is_disconnected():
            events = await outbox.events_after(seq, 100, kinds)
            for event in events:
                yield sse(event)
            if events:
                seq, quiet = events[-1].seq, 0.0
                continue
            await asyncio.sleep(POLL)
            quiet += POLL
            if quiet >= HEARTBEAT:
                yield b": ping\n\n"
                quiet = 0.0

    headers = {"cache-control": "no-store", "x-accel-buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)
