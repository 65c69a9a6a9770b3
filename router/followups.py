"""Follow-ups: tasks scheduled at wrap-up ("call the customer back in 2 days") that become
contacts when due, offered first to the agent who scheduled them.

Due follow-ups are stored, so none is lost across a restart; turning one into a contact is
idempotent (its id is the contact's message id), so a crash in between creates no double.
"""

from __future__ import annotations

import asyncio
import logging

from channels.contact import CustomerRef, InboundContact
from router.intake import Intake
from router.store.errors import StoreError
from skills.vocabulary import Channel

log = logging.getLogger("centralino.followups")
GATEWAY = "followup"


async def release_due(intake: Intake) -> int:
    """Turn every follow-up that is due into a contact; returns how many."""
    store = intake.runtime.store
    released = 0
    for task in await store.aftercare.due(intake.runtime.clock()):
        original = await store.contact(task.contact_id)
        if original is None:
            continue
        customer = original.customer or {}
        result = await intake.accept(
            InboundContact(
                gateway=GATEWAY,
                external_id=task.id,
                channel=Channel(original.channel),
                customer=CustomerRef(name=str(customer.get("name") or "")),
                customer_id=original.customer_id,
                language=original.language,
                intent=original.intent,
                subject=f"Follow-up: {original.subject}"[:500],
                text=task.note or original.text[:2000],
                attributes={"follow_up_of": original.id},
            ),
            prefer_agent=task.agent_id,
        )
        await store.aftercare.mark_created(task.id, result.contact_id)
        released += 1
    return released


async def run(intake: Intake, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            if count := await release_due(intake):
                log.info("%d follow-ups became contacts", count)
        except StoreError as exc:
            log.warning("follow-ups not released this time: %s", exc)
