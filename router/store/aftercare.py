"""After the contact: customer feedback (CSAT, NPS) and scheduled follow-ups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.ids import ordered_id
from router.kpis import Counts
from router.store.errors import StoreError
from router.store.schema import ContactRow, FeedbackRow, FollowUpRow


class AftercareError(StoreError):
    """A follow-up or feedback the store could not take (a StoreError: HTTP answers 503
    with Retry-After, a desktop's wrap-up ``partly_recorded``)."""


def _scores(rows: Sequence[FeedbackRow]) -> dict[str, Any]:
    """CSAT and NPS as router/kpis.py defines them."""
    counts = Counts()
    for row in rows:
        counts.feedback(row.csat, row.nps)
    average, share, nps = counts.csat, counts.csat_satisfied_share, counts.nps
    return {
        "responses": len(rows),
        "csat_average": None if average is None else round(average, 2),
        "csat_satisfied": None if share is None else round(share, 3),
        "nps": None if nps is None else round(nps, 1),
    }


class Aftercare:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record_feedback(
        self, contact: ContactRow, csat: int | None, nps: int | None, comment: str, now: float
    ) -> None:
        try:
            async with self._sessions.begin() as session:
                row = await session.get(FeedbackRow, contact.id)
                if row is None:
                    row = FeedbackRow(
                        contact_id=contact.id,
                        agent_id=contact.agent_id,
                        queue=contact.queue,
                        at=now,
                    )
                    session.add(row)
                if csat is not None:
                    row.csat = csat
                if nps is not None:
                    row.nps = nps
                if comment:
                    row.comment = comment
                row.at = now
        except SQLAlchemyError as exc:
            raise AftercareError(f"could not store feedback: {type(exc).__name__}") from exc

    async def feedback_summary(self) -> dict[str, Any]:
        async with self._sessions() as session:
            rows = (await session.execute(select(FeedbackRow))).scalars().all()
        by_agent: dict[str, list[FeedbackRow]] = defaultdict(list)
        by_queue: dict[str, list[FeedbackRow]] = defaultdict(list)
        for row in rows:
            by_agent[row.agent_id or "(none)"].append(row)
            by_queue[row.queue].append(row)
        return {
            "overall": _scores(rows),
            "agents": {agent: _scores(r) for agent, r in sorted(by_agent.items())},
            "queues": {queue: _scores(r) for queue, r in sorted(by_queue.items())},
        }

    async def schedule(
        self, contact_id: str, agent_id: str, due_at: float, note: str, now: float
    ) -> str:
        follow_up_id = ordered_id()
        try:
            async with self._sessions.begin() as session:
                session.add(
                    FollowUpRow(
                        id=follow_up_id,
                        contact_id=contact_id,
                        agent_id=agent_id,
                        due_at=due_at,
                        note=note,
                        created_at=now,
                    )
                )
        except SQLAlchemyError as exc:
            raise AftercareError(f"could not schedule the follow-up: {type(exc).__name__}") from exc
        return follow_up_id

    async def due(self, now: float, limit: int = 100) -> Sequence[FollowUpRow]:
        async with self._sessions() as session:
            result = await session.execute(
                select(FollowUpRow)
                .where(FollowUpRow.due_at <= now, FollowUpRow.created_contact_id.is_(None))
                .order_by(FollowUpRow.due_at)
                .limit(limit)
            )
            return result.scalars().all()

    async def mark_created(self, follow_up_id: str, contact_id: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(FollowUpRow)
                .where(FollowUpRow.id == follow_up_id)
                .values(created_contact_id=contact_id)
            )
