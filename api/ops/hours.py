"""Business hours: every queue's status now, and the manual "closed now" switch.

GET /v1/hours (supervisor or admin): open or closed per queue and channel, until when.
GET /v1/estimates (supervisor or admin): the wait estimate per queue and channel now.
POST /v1/admin/queues/{queue}/close {"reason"} and POST /v1/admin/queues/{queue}/reopen
(admin): an emergency close of one queue, or of all with ``*``. New contacts for a closed
queue get its after-hours policy (docs/rules.md); contacts already waiting stay queued.
The switch is kept in the store: a restart or a router failover keeps the queue closed.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.base.auth import require_admin, require_supervisor
from router.hours import HoursBook
from router.intake import Intake

log = logging.getLogger("centralino.hours")
router = APIRouter(prefix="/v1", tags=["ops"])


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=200, description="shown in explain and /v1/hours")


def _book(request: Request) -> tuple[HoursBook, float]:
    intake: Intake = request.app.state.intake
    return intake.hours, intake.runtime.clock()


@router.get("/hours", dependencies=[Depends(require_supervisor)])
async def hours_now(request: Request) -> list[dict[str, Any]]:
    book, now = _book(request)
    return book.summary(now)


@router.get("/estimates", dependencies=[Depends(require_supervisor)])
async def estimates_now(request: Request) -> list[dict[str, Any]]:
    """The wait a contact arriving now would have, per queue and channel (router/estimate.py),
    with whether the queue is open for that channel."""
    intake: Intake = request.app.state.intake
    engine, now = intake.runtime.engine, intake.runtime.clock()
    return [
        {
            "queue": queue,
            "channel": channel.value,
            "open": intake.hours.status(queue, channel, now).open,
            **intake.estimator.for_queue(engine, queue, channel).as_dict(),
        }
        for queue in engine.config.queues
        for channel in engine.config.channels
    ]


@router.post("/admin/queues/{queue}/close", dependencies=[Depends(require_admin)])
async def close_queue(queue: str, body: CloseIn, request: Request) -> dict[str, Any]:
    """Close a queue now (``*``: every queue), until reopened."""
    book, now = _book(request)
    if queue != "*" and queue not in book.config.queues:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {queue!r}")
    book.close(queue, body.reason, now)
    switch = book.switches[queue]
    intake: Intake = request.app.state.intake
    await intake.runtime.store.switches.close(queue, switch.reason, switch.since)
    log.warning("queue %s closed by hand: %s", queue, body.reason or "(no reason given)")
    return {"queue": queue, "closed": True, "reason": book.switches[queue].reason}


@router.post("/admin/queues/{queue}/reopen", dependencies=[Depends(require_admin)])
async def reopen_queue(queue: str, request: Request) -> dict[str, Any]:
    """Undo a manual close; business hours apply again."""
    book, _now = _book(request)
    if queue != "*" and queue not in book.config.queues:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no queue {queue!r}")
    reopened = book.reopen(queue)
    intake: Intake = request.app.state.intake
    await intake.runtime.store.switches.reopen(queue)
    if reopened:
        log.warning("queue %s reopened by hand", queue)
    return {"queue": queue, "closed": False, "was_closed_by_hand": reopened}
