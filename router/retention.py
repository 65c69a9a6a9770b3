"""Retention: a background job purges personal texts older than ``retention.texts``
(config.yaml) with Store.privacy.purge; the contacts themselves stay for statistics."""

from __future__ import annotations

import asyncio
import logging

from router.intake import Intake
from router.store.errors import StoreError

log = logging.getLogger("centralino.retention")


async def purge_due(intake: Intake) -> dict[str, int]:
    """One pass with the rules in force now; nothing when retention is off (0)."""
    keep = intake.planner.config.retention.texts
    if keep <= 0:
        return {}
    runtime = intake.runtime
    now = runtime.clock()
    counts = await runtime.store.privacy.purge(before=now - keep, now=now)
    if any(counts.values()):
        log.info(
            "retention: purged the texts of %d contacts, %d messages, %d feedback comments",
            counts["contacts"],
            counts["messages"],
            counts["feedback_comments"],
        )
    return counts


async def run(intake: Intake) -> None:
    """Purge at start, then every ``retention.check_every`` (read again each time, so a
    reload takes effect)."""
    while True:
        try:
            await purge_due(intake)
        except StoreError as exc:
            log.warning("retention purge not done this time: %s", exc)
        await asyncio.sleep(intake.planner.config.retention.check_every)
