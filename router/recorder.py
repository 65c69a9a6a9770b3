"""Write-behind of routing decisions: the routing loop never waits for the database.

Decisions are turned into row changes at once (so they reflect the moment they were made)
and written in order by one background task, a batch per transaction. A change the
database refuses is isolated and logged; the rest of its batch is still written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial

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
    StateLimitExceeded,
    Supervised,
    Transferred,
    WrapUpStarted,
)
from router.futures import settled
from router.outbox.events import GatewayEvent
from router.states import ContactState
from router.store.changes import (
    AgentStateInsert,
    Change,
    ContactUpdate,
    EventInsert,
    OfferInsert,
    OfferUpdate,
    OutboxInsert,
)
from router.store.errors import FencedOut
from router.store.repository import Store

log = logging.getLogger("centralino.recorder")

Announce = Callable[[float, Decision], GatewayEvent | None]


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
                {
                    "reason": decision.reason,
                    "queue": decision.queue,
                    "explanation": decision.explanation,
                },
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
                    "queue": policy.queue,
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
    if isinstance(decision, Supervised):
        changes: list[Change] = []
        values: dict[str, object] = {"updated_at": now}
        if decision.was_assigned:
            values["agent_id"] = None
        if decision.policy is not None:
            values["policy"] = decision.policy.to_dict()
        changes.append(ContactUpdate(decision.contact_id, values))
        changes.append(
            EventInsert(
                decision.contact_id,
                now,
                f"supervisor_{decision.action}",
                {
                    "by": decision.by,
                    "reason": decision.reason,
                    "from_agent": decision.from_agent,
                    "to_agent": decision.to_agent,
                    **decision.detail,
                },
            )
        )
        return changes
    if isinstance(decision, StateLimitExceeded):
        return [
            AgentStateInsert(
                {
                    "agent_id": decision.agent_id,
                    "at": now,
                    "kind": "limit",
                    "presence": "away",
                    "code": decision.code,
                    "reason": f"over the {decision.limit:g} s limit since {decision.since:.3f}",
                    "forced_by": "",
                }
            )
        ]
    assert isinstance(decision, PresenceChanged)
    # the live presence is not restored after a restart; the record is kept for reports
    return [
        AgentStateInsert(
            {
                "agent_id": decision.agent_id,
                "at": now,
                "kind": "state",
                "presence": decision.presence.value,
                "code": decision.code,
                "reason": decision.reason[:200],
                "forced_by": decision.forced_by,
            }
        )
    ]


class Recorder:
    """Routing decisions into the store's journal, in the order they were made.

    The routing loop never waits: ``record`` queues the row changes and returns. Whoever
    must know a decision is durable (a desktop's ack, a read of the record) waits for it
    with ``flush`` or ``reached``.
    """

    def __init__(self, store: Store, announce: Announce | None = None) -> None:
        self._store = store
        self.announce = announce  # the gateway event of a decision, committed with it
        self.committed: Callable[[], None] | None = None  # told after each commit
        # told when a decision the engine applied could not be committed: the engine and
        # the record differ, so nothing is acknowledged until the state is reloaded
        self.diverged_hook: Callable[[], None] | None = None
        self.diverged = False
        self.failed = 0
        self.fenced = False
        self.mark = 0  # units recorded so far
        self._pending: dict[int, asyncio.Future[None]] = {}

    def record(
        self, now: float, decisions: Iterable[Decision], first: Sequence[Change] = ()
    ) -> None:
        """Queue the row changes of ``decisions`` (after ``first``, in the same unit)."""
        if self.fenced:
            return  # a newer router owns the decisions now
        changes: list[Change] = list(first)
        for decision in decisions:
            changes.extend(changes_for(decision, now))
            announced = self.announce(now, decision) if self.announce is not None else None
            if announced is not None:
                changes.append(OutboxInsert(announced.as_row()))
        self.write(changes)

    def write(self, changes: list[Change]) -> None:
        """Queue row changes that follow what the engine did (decisions, a contact's plan):
        in order, without waiting, a failure making the router reload from the record."""
        if not changes or self.fenced:
            return
        self.mark += 1
        mark = self.mark
        future = self._store.record(changes)
        self._pending[mark] = future
        # a partial, not a lambda: three objects for the collector (the partial, its
        # arguments, the bound method) where the lambda's were five (the function, its
        # closure and three cells), and the list of changes is not kept alive for it
        future.add_done_callback(partial(self._written, mark, len(changes)))

    def _written(self, mark: int, count: int, future: asyncio.Future[None]) -> None:
        self._pending.pop(mark, None)
        error = None if future.cancelled() else future.exception()
        if isinstance(error, FencedOut):
            self.fenced = True
            log.error("routing changes refused, %s; this router stops recording", error)
        elif error is not None:
            self.failed += 1
            log.error("dropped %d routing changes it cannot write: %s", count, error)
            if not self.diverged:
                self.diverged = True
                if self.diverged_hook is not None:
                    self.diverged_hook()
        elif self.committed is not None:
            self.committed()

    def written(self, mark: int) -> bool:
        """Whether everything recorded up to ``mark`` is written (or given up on): the
        oldest unit still pending is newer (units are pending in the order recorded)."""
        return next(iter(self._pending), mark + 1) > mark

    async def reached(self, mark: int, *, linger: bool = False) -> bool:
        """Wait until everything recorded up to ``mark`` (a past ``self.mark``) is written
        or given up on; unlike ``flush`` it does not wait for what is recorded meanwhile.
        False if any of it could not be written (or this router was fenced out).
        ``linger``: the batch may still wait for more decisions to share its commit (a
        desktop's ack, router/store/journal.py); otherwise it goes at once."""
        # The journal answers units in the order they were queued, and a unit that fails
        # marks the recorder diverged before a later unit's waiter runs: waiting for the
        # newest pending unit up to ``mark`` is waiting for all of them. (Waiting on every
        # pending future made each commit wake every waiter: quadratic under a backlog.)
        last = self._pending.get(mark)
        if last is None and not self.written(mark):
            last = next((f for m, f in reversed(self._pending.items()) if m <= mark), None)
        if last is not None:
            if not linger:
                self._store.journal.hurry(last)  # someone waits now
            await settled(last)
            if last.cancelled() or last.exception() is not None:
                return False
        return not self.fenced and not self.diverged

    def realigned(self) -> None:
        """The engine was rebuilt from the record: acknowledge again."""
        self.diverged = False

    async def flush(self) -> None:
        """Wait until everything recorded so far is written (or given up on)."""
        await self.reached(self.mark)

    async def stop(self) -> None:
        await self.flush()
