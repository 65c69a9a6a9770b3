"""Write-behind of routing decisions: the routing loop never waits for the database.

Decisions are turned into row changes at once (so they reflect the moment they were made)
and written in order by one background task, a batch per transaction. A change the
database refuses is isolated and logged; the rest of its batch is still written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    Decision,
    Expanded,
    Offered,
    OfferEnded,
    PresenceChanged,
    Queued,
    Rescored,
    Transferred,
    WrapUpStarted,
)
from router.states import ContactState
from router.store.repository import (
    Change,
    ContactUpdate,
    EventInsert,
    FencedOut,
    OfferInsert,
    OfferUpdate,
    Store,
    StoreError,
)

log = logging.getLogger("centralino.recorder")
MAX_BATCH = 500
RETRY_DELAYS = (0.05, 0.5, 2.0)


def changes_for(decision: Decision, now: float) -> list[Change]:
    """The row changes that make one decision durable."""
    if isinstance(decision, Queued):
        return [
            ContactUpdate(
                decision.contact_id,
                {
                    "state": ContactState.QUEUED.value,
                    "queue": decision.queue,
                    "agent_id": None,
                    "updated_at": now,
                },
            ),
            EventInsert(
                decision.contact_id,
                now,
                "queued",
                {"reason": decision.reason, "explanation": decision.explanation},
            ),
        ]
    if isinstance(decision, Offered):
        return [
            OfferInsert(
                {
                    "id": decision.offer_id,
                    "contact_id": decision.contact_id,
                    "agent_id": decision.agent_id,
                    "made_at": now,
                    "expires_at": decision.expires_at,
                    "explanation": decision.explanation,
                }
            ),
            ContactUpdate(
                decision.contact_id, {"state": ContactState.OFFERED.value, "updated_at": now}
            ),
            EventInsert(
                decision.contact_id,
                now,
                "offered",
                {
                    "offer_id": decision.offer_id,
                    "agent_id": decision.agent_id,
                    "explanation": decision.explanation,
                },
            ),
        ]
    if isinstance(decision, OfferEnded):
        return [
            OfferUpdate(
                decision.offer_id,
                {"outcome": decision.outcome.value, "reason": decision.reason, "closed_at": now},
            ),
            EventInsert(
                decision.contact_id,
                now,
                f"offer_{decision.outcome.value}",
                {
                    "offer_id": decision.offer_id,
                    "agent_id": decision.agent_id,
                    "reason": decision.reason,
                },
            ),
        ]
    if isinstance(decision, Assigned):
        return [
            ContactUpdate(
                decision.contact_id,
                {
                    "state": ContactState.ASSIGNED.value,
                    "agent_id": decision.agent_id,
                    "answered_at": now,
                    "updated_at": now,
                },
            ),
            EventInsert(
                decision.contact_id,
                now,
                "assigned",
                {
                    "agent_id": decision.agent_id,
                    "offer_id": decision.offer_id,
                    "waited_seconds": round(decision.waited, 3),
                },
            ),
        ]
    if isinstance(decision, WrapUpStarted):
        return [
            ContactUpdate(
                decision.contact_id, {"state": ContactState.WRAP_UP.value, "updated_at": now}
            ),
            EventInsert(
                decision.contact_id,
                now,
                "wrap_up",
                {
                    "agent_id": decision.agent_id,
                    "until": decision.until,
                    "ended_by": decision.ended_by,
                },
            ),
        ]
    if isinstance(decision, Completed):
        return [
            ContactUpdate(
                decision.contact_id,
                {
                    "state": ContactState.COMPLETED.value,
                    "outcome": decision.outcome,
                    "resolved": decision.resolved,
                    "notes": decision.notes,
                    "ended_at": now,
                    "updated_at": now,
                },
            ),
            EventInsert(
                decision.contact_id,
                now,
                "completed",
                {
                    "agent_id": decision.agent_id,
                    "outcome": decision.outcome,
                    "resolved": decision.resolved,
                },
            ),
        ]
    if isinstance(decision, Abandoned):
        return [
            ContactUpdate(
                decision.contact_id,
                {"state": ContactState.ABANDONED.value, "ended_at": now, "updated_at": now},
            ),
            EventInsert(
                decision.contact_id, now, "abandoned", {"waited_seconds": round(decision.waited, 3)}
            ),
        ]
    if isinstance(decision, Transferred):
        policy = decision.policy
        return [
            ContactUpdate(
                decision.contact_id,
                {
                    "transfers": decision.transfers,
                    "policy": policy.to_dict(),
                    "queue": policy.queue,
                    "rule": policy.rule,
                    "agent_id": None,
                    "history_boost": decision.history_boost,
                    "excluded_agents": list(decision.excluded_agents),
                    "preferred_agent": decision.preferred_agent,
                    "updated_at": now,
                },
            ),
            EventInsert(
                decision.contact_id,
                now,
                "transferred",
                {
                    "from_agent": decision.from_agent,
                    "target": decision.target,
                    "transfers": decision.transfers,
                },
            ),
        ]
    if isinstance(decision, Rescored):
        return [
            ContactUpdate(decision.contact_id, {"urgency": decision.urgency, "updated_at": now}),
            EventInsert(
                decision.contact_id,
                now,
                "rescored",
                {
                    "urgency": round(decision.urgency, 3),
                    "static_priority": round(decision.static_priority, 3),
                },
            ),
        ]
    if isinstance(decision, Expanded):
        return [
            EventInsert(
                decision.contact_id,
                now,
                "expanded",
                {"step": decision.step, "requirements": dict(decision.requirements)},
            )
        ]
    assert isinstance(decision, PresenceChanged)
    return []  # presence is live state; it is not kept across restarts


class Recorder:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: asyncio.Queue[list[Change]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.failed = 0
        self.fenced = False
        self.mark = 0  # batches recorded so far
        self._done = 0  # batches written (or given up on) so far
        self._progress = asyncio.Condition()

    def record(self, now: float, decisions: Iterable[Decision]) -> None:
        changes = [change for decision in decisions for change in changes_for(decision, now)]
        if changes:
            self.mark += 1
            self._queue.put_nowait(changes)

    async def reached(self, mark: int) -> None:
        """Wait until everything recorded up to ``mark`` (a past ``self.mark``) is written;
        unlike ``flush`` it does not wait for what is recorded meanwhile."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._done >= mark)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="centralino-recorder")

    async def flush(self) -> None:
        """Wait until everything recorded so far is written."""
        await self._queue.join()

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            batches = [await self._queue.get()]
            size = len(batches[0])
            while size < MAX_BATCH and not self._queue.empty():
                batches.append(self._queue.get_nowait())
                size += len(batches[-1])
            try:
                await self._write([change for batch in batches for change in batch])
            finally:
                for _ in batches:
                    self._queue.task_done()
                self._done += len(batches)
                async with self._progress:
                    self._progress.notify_all()

    async def _write(self, changes: list[Change]) -> None:
        if self.fenced:
            return
        for delay in RETRY_DELAYS:
            try:
                await self._store.apply(changes)
                return
            except FencedOut as exc:
                # a newer router owns the decisions now; what this one decided is void
                self.fenced = True
                log.error("routing changes refused, %s; this router stops recording", exc)
                return
            except StoreError as exc:
                log.warning(
                    "writing %d routing changes failed (%s); retrying in %.1fs",
                    len(changes),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
        log.warning("batch of %d changes keeps failing; writing them one by one", len(changes))
        for change in changes:
            try:
                await self._store.apply([change])
            except FencedOut:
                self.fenced = True
                return
            except StoreError as exc:
                self.failed += 1
                log.error(
                    "dropped a routing change it cannot write (%s): %s", type(change).__name__, exc
                )
