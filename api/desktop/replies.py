"""A desktop's reply on email, Meta, X or SMS: handed to the reply outbox (router/replies.py),
acknowledged once recorded; what came of it follows as ``reply_status`` events."""

from __future__ import annotations

from typing import Any

from api.desktop.protocol import Error, SendMessage, ack
from channels.outbound.base import Template
from router.replies import ReplyOutbox, ReplyRefused
from router.runtime import RouterRuntime
from router.store.errors import StoreError


async def reply_through_outbox(
    runtime: RouterRuntime, agent_id: str, message: SendMessage, replies: ReplyOutbox | None
) -> dict[str, Any]:
    """Email, Meta, X, SMS: the ack once the reply is committed (``reply_id``, status
    ``pending``; a resend with the same ``reply_key`` answers with the stored reply, never
    a second one); ``reply_status`` events follow."""
    try:
        row = await runtime.store.contact(message.contact_id)
    except StoreError as exc:  # nothing recorded, so nothing will be sent: say so
        return not_recorded(message, exc)
    if replies is None or row is None:
        return Error(
            ref=message.ref, code="not_deliverable", message="replies are not available here"
        ).model_dump()
    template = (
        Template(message.template.name, message.template.language) if message.template else None
    )
    try:
        view, created = await replies.reply(
            agent_id, row, message.text, message.reply_key, template
        )
    except ReplyRefused as exc:
        return Error(ref=message.ref, code=exc.code, message=exc.message).model_dump()
    except StoreError as exc:  # nothing recorded, so nothing will be sent: say so
        return not_recorded(message, exc)
    answer = ack(message.ref, message.type, reply=view)
    return answer if created else answer | {"duplicate": True}


def not_recorded(message: SendMessage, exc: StoreError) -> dict[str, Any]:
    return Error(
        ref=message.ref,
        code="not_recorded",
        message=f"the reply could not be recorded and was not sent: {exc}",
    ).model_dump()
