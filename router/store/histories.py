"""Customers' histories as routing reads them: several customers in two statements.

A returning customer's plan reads their history (their recent contacts, their name and
identities) before the offer and the 202. Read one customer at a time that was two
statements a returning contact: on PostgreSQL two round trips, each a send that wakes the
server's backend (about 0.1 ms of the router's CPU a send on the thirty-fifth session's
VM at max intake) and, with the reads overlapping, more connections than the pool keeps.
``read_histories`` reads any number of customers at once (router/history_reads.py
gathers the reads asked for meanwhile), each with the same answer as if read alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.customer_views import history_entry
from router.store.schema import ContactRow, CustomerRow, FeedbackRow, IdentityRow

HISTORY_CONTACTS = 50
"""The most contacts a history holds."""
RECENT_LINES = 5
"""The history lines a plan keeps for the offer."""


@dataclass(frozen=True, slots=True)
class HandledContact:
    arrival: float
    agent_id: str
    queue: str
    resolved: bool | None


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """What routing and the agent desktop need to know about earlier contacts."""

    previous_contacts: int = 0
    unresolved: bool = False
    last_agent: str | None = None
    last_queue: str | None = None
    recent: list[dict[str, Any]] = field(default_factory=list)
    handled: list[HandledContact] = field(default_factory=list)
    """Contacts an agent handled, newest first."""
    name: str = ""
    identities: list[str] = field(default_factory=list)
    """The customer's name and every identity on file ("kind:value"), for the offer."""
    contact_ids: tuple[str, ...] = ()
    """Every contact it was read from (router/history_waits.py)."""

    def facts(self) -> dict[str, Any]:
        """The ``customer`` variable of rule conditions."""
        return {
            "known": self.previous_contacts > 0,
            "previous_contacts": self.previous_contacts,
            "unresolved": self.unresolved,
            "last_agent": self.last_agent or "",
            "last_queue": self.last_queue or "",
        }


class HistoryAsk(NamedTuple):
    """One customer's history: their contacts since ``since``, but ``besides`` (the
    contact being planned, stored before its plan, is not its own history)."""

    customer_id: str
    since: float
    besides: str = ""


# Each customer's newest contacts since the earliest ``since`` asked, one more than a
# history holds (an ask leaves out one contact, its ``besides``), with their CSAT: the
# columns a history line and the plan read, not whole rows (whose JSON columns, the
# triage's above all, cost most of an ORM load). The per-customer cut is a window
# function (SQLite 3.25 and later, PostgreSQL) over the (customer_id, arrival) index.
_RANKED = (
    select(
        ContactRow.id,
        ContactRow.customer_id,
        ContactRow.arrival,
        ContactRow.channel,
        ContactRow.subject,
        ContactRow.queue,
        ContactRow.agent_id,
        ContactRow.state,
        ContactRow.outcome,
        ContactRow.resolved,
        func.row_number()
        .over(partition_by=ContactRow.customer_id, order_by=ContactRow.arrival.desc())
        .label("rank"),
    )
    .where(
        ContactRow.customer_id.in_(bindparam("customers", expanding=True)),
        ContactRow.arrival >= bindparam("since"),
    )
    .subquery()
)
HISTORIES = (
    select(_RANKED, FeedbackRow.csat)
    .outerjoin(FeedbackRow, FeedbackRow.contact_id == _RANKED.c.id)
    .where(_RANKED.c.rank <= HISTORY_CONTACTS + 1)
    .order_by(_RANKED.c.customer_id, _RANKED.c.rank)
)
CARDS = (
    select(CustomerRow.id, CustomerRow.name, IdentityRow.kind, IdentityRow.value)
    .outerjoin(IdentityRow, IdentityRow.customer_id == CustomerRow.id)
    .where(CustomerRow.id.in_(bindparam("customers", expanding=True)))
)


async def read_histories(
    connection: AsyncConnection, asks: Sequence[HistoryAsk]
) -> list[CustomerHistory]:
    """Each ask's history, in order, read in two statements."""
    if not asks:
        return []
    customers = sorted({ask.customer_id for ask in asks})
    since = min(ask.since for ask in asks)
    contacts: dict[str, list[Any]] = {}
    for row in await connection.execute(HISTORIES, {"customers": customers, "since": since}):
        contacts.setdefault(row.customer_id, []).append(row)
    cards: dict[str, list[Any]] = {}
    for row in await connection.execute(CARDS, {"customers": customers}):
        cards.setdefault(row.id, []).append(row)
    return [
        history_of(ask, contacts.get(ask.customer_id, []), cards.get(ask.customer_id, []))
        for ask in asks
    ]


def history_of(ask: HistoryAsk, contacts: Sequence[Any], card: Sequence[Any]) -> CustomerHistory:
    """One ask's history from its customer's rows (newest first) and card rows. The rows
    were read from the earliest ``since`` of the batch: those before this ask's go, as
    does its ``besides``; the rest, up to ``HISTORY_CONTACTS``, are what a read of this
    ask alone returns (a customer with more rows than that since the earliest has all of
    this ask's newest among them, since the older ones rank last)."""
    rows = [row for row in contacts if row.arrival >= ask.since and row.id != ask.besides][
        :HISTORY_CONTACTS
    ]
    handled = [row for row in rows if row.agent_id is not None]
    last = handled[0] if handled else None
    return CustomerHistory(
        previous_contacts=len(rows),
        unresolved=bool(handled) and handled[0].resolved is False,
        last_agent=last.agent_id if last else None,
        last_queue=last.queue if last else None,
        recent=[history_entry(row, row.csat) for row in rows[:RECENT_LINES]],
        handled=[
            HandledContact(row.arrival, row.agent_id or "", row.queue, row.resolved)
            for row in handled
        ],
        name=card[0].name if card else "",
        identities=sorted(f"{row.kind}:{row.value}" for row in card if row.kind is not None),
        contact_ids=tuple(row.id for row in rows),
    )
