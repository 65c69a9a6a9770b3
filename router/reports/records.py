"""The reports' reads and writes: what one interval needs from the record, and its
figures into report_intervals / report_agent_time (replaced whole, in one commit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import Table, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from router.kpis import COUNT_FIELDS
from router.reports.aggregate import (
    INTERVAL,
    ContactFacts,
    EventFacts,
    FeedbackFacts,
    Inputs,
    IntervalFigures,
    StateFacts,
)
from router.store.schema import (
    AgentStateRow,
    ContactRow,
    FeedbackRow,
    ReportAgentTimeRow,
    ReportIntervalRow,
    ReportProgressRow,
    RoutingEventRow,
)

INTERVALS: Table = ReportIntervalRow.__table__  # type: ignore[assignment]
AGENT_TIME: Table = ReportAgentTimeRow.__table__  # type: ignore[assignment]
PROGRESS: Table = ReportProgressRow.__table__  # type: ignore[assignment]
STATES: Table = AgentStateRow.__table__  # type: ignore[assignment]
CHUNK = 500
Commit = Callable[[Callable[[Connection], Any]], Awaitable[Any]]


class ReportRecords:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], commit: Commit) -> None:
        self._sessions = sessions
        self._commit = commit

    async def earliest(self) -> float | None:
        """When the record starts (the first contact or agent state), if it has anything."""
        async with self._sessions() as session:
            first_contact = (await session.execute(select(func.min(ContactRow.arrival)))).scalar()
            first_state = (await session.execute(select(func.min(AgentStateRow.at)))).scalar()
        known = [at for at in (first_contact, first_state) if at is not None]
        return min(known) if known else None

    async def inputs(self, start: float) -> Inputs:
        end = start + INTERVAL
        found = Inputs()
        async with self._sessions() as session:
            columns = (ContactRow.id, ContactRow.channel, ContactRow.queue, ContactRow.arrival)
            # live during the interval: ended in or after it, or not ended (two index scans)
            for ended in (ContactRow.ended_at >= start, ContactRow.ended_at.is_(None)):
                live = await session.execute(
                    select(*columns).where(ended).where(ContactRow.arrival < end)
                )
                for contact_id, channel, queue, arrival in live:
                    found.contacts[contact_id] = ContactFacts(contact_id, channel, queue, arrival)
            ids = sorted(found.contacts)
            for first in range(0, len(ids), CHUNK):
                events = await session.execute(  # columns, not ORM objects: thousands a run
                    select(
                        RoutingEventRow.contact_id,
                        RoutingEventRow.at,
                        RoutingEventRow.kind,
                        RoutingEventRow.detail,
                    )
                    .where(RoutingEventRow.contact_id.in_(ids[first : first + CHUNK]))
                    .where(RoutingEventRow.at < end)
                    .order_by(RoutingEventRow.id)
                )
                found.events += [
                    EventFacts(contact_id, at, kind, detail or {})
                    for contact_id, at, kind, detail in events
                ]
            last_before = (
                select(func.max(AgentStateRow.id))
                .where(AgentStateRow.at < start, AgentStateRow.kind == "state")
                .group_by(AgentStateRow.agent_id)
            )
            for row in (
                await session.execute(
                    select(AgentStateRow).where(AgentStateRow.id.in_(last_before))
                )
            ).scalars():
                found.states_before[row.agent_id] = StateFacts(
                    row.agent_id, row.at, row.presence, row.code
                )
            changes = await session.execute(
                select(AgentStateRow)
                .where(AgentStateRow.at >= start, AgentStateRow.at < end)
                .where(AgentStateRow.kind == "state")
                .order_by(AgentStateRow.id)
            )
            found.states = [
                StateFacts(row.agent_id, row.at, row.presence, row.code)
                for row in changes.scalars()
            ]
            answers = await session.execute(
                select(FeedbackRow, ContactRow.channel)
                .join(ContactRow, ContactRow.id == FeedbackRow.contact_id)
                .where(FeedbackRow.at >= start, FeedbackRow.at < end)
            )
            found.feedback = [
                FeedbackFacts(row.agent_id or "", row.queue, channel, row.at, row.csat, row.nps)
                for row, channel in answers
            ]
        return found

    async def replace(
        self, start: float, figures: IntervalFigures, done_until: float | None
    ) -> None:
        """The interval's figures replace what was stored for it; ``done_until`` moves the
        progress mark in the same commit."""
        counts = [
            {
                "start": start,
                "queue": queue,
                "channel": channel,
                "agent_id": agent,
                **{name: getattr(c, name) for name in COUNT_FIELDS},
            }
            for (queue, channel, agent), c in sorted(figures.counts.items())
        ]
        time = [
            {"start": start, "agent_id": agent, "state": state, "code": code, "seconds": seconds}
            for (agent, state, code), seconds in sorted(figures.time.items())
        ]

        def write(connection: Connection) -> None:
            connection.execute(delete(INTERVALS).where(INTERVALS.c.start == start))
            connection.execute(delete(AGENT_TIME).where(AGENT_TIME.c.start == start))
            if counts:
                connection.execute(insert(INTERVALS), counts)
            if time:
                connection.execute(insert(AGENT_TIME), time)
            if done_until is not None:
                connection.execute(delete(PROGRESS).where(PROGRESS.c.name == "intervals"))
                connection.execute(
                    insert(PROGRESS), {"name": "intervals", "done_until": done_until}
                )

        await self._commit(write)

    async def close_open_states(self, at: float, reason: str) -> int:
        """Record every agent whose last recorded state is not offline as offline at ``at``
        (a router starting knows nobody is logged in yet: without this, time would count
        in the state held before a crash). Returns how many were closed."""

        def close(connection: Connection) -> int:
            latest = (
                select(func.max(STATES.c.id))
                .where(STATES.c.kind == "state")
                .group_by(STATES.c.agent_id)
            )
            open_agents = (
                connection.execute(
                    select(STATES.c.agent_id).where(
                        STATES.c.id.in_(latest), STATES.c.presence != "offline"
                    )
                )
                .scalars()
                .all()
            )
            if open_agents:
                connection.execute(
                    insert(STATES),
                    [
                        {
                            "agent_id": agent,
                            "at": at,
                            "kind": "state",
                            "presence": "offline",
                            "code": "",
                            "reason": reason,
                            "forced_by": "",
                        }
                        for agent in open_agents
                    ],
                )
            return len(open_agents)

        closed: int = await self._commit(close)
        return closed

    async def done_until(self) -> float | None:
        async with self._sessions() as session:
            row = await session.get(ReportProgressRow, "intervals")
            return None if row is None else row.done_until

    async def stored(
        self, start: float, end: float
    ) -> tuple[Sequence[ReportIntervalRow], Sequence[ReportAgentTimeRow]]:
        async with self._sessions() as session:
            counts = await session.execute(
                select(ReportIntervalRow)
                .where(ReportIntervalRow.start >= start, ReportIntervalRow.start < end)
                .order_by(ReportIntervalRow.start, ReportIntervalRow.id)
            )
            time = await session.execute(
                select(ReportAgentTimeRow)
                .where(ReportAgentTimeRow.start >= start, ReportAgentTimeRow.start < end)
                .order_by(ReportAgentTimeRow.start, ReportAgentTimeRow.id)
            )
            return counts.scalars().all(), time.scalars().all()
