"""Customers' histories as routing reads them: several customers in two statements.

A returning customer's plan reads their history (their recent contacts, their name and
identities) before the offer and the 202. Read one customer at a time that was two
statements a returning contact: on PostgreSQL two round trips, each a send that wakes the
server's backend (about 0.1 ms of the router's CPU a send on the thirty-fifth session's
VM at max intake) and, with the reads overlapping, more connections than the pool keeps.
``read_histories`` reads any number of customers at once (router/gathered_reads.py
gathers the reads asked for meanwhile), each with the same answer as if read alone;
``read_histories_kept`` the same statements through the driver on a connection kept for
such reads (router/store/kept_reads.py), where there is one (not in an in-memory
database).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import BindParameter, CompoundSelect, Select, bindparam, select, union_all
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection

from router.store.customer_views import history_entry
from router.store.kept_reads import KeptReads, Rows, fetch_statement
from router.store.padding import MOST_IN_ONE, padded_parts
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


def _newest_contacts(customer: str) -> Select[*tuple[Any, ...]]:
    """One customer's newest contacts since the earliest ``since`` asked, one more than a
    history holds (an ask leaves out one contact, its ``besides``), with their CSAT: the
    columns a history line and the plan read, not whole rows (whose JSON columns, the
    triage's above all, cost most of an ORM load). Read backwards along the
    (customer_id, arrival) index, it stops at the last row it keeps, however many
    contacts the customer has."""
    return (
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
            FeedbackRow.csat,
        )
        .outerjoin(FeedbackRow, FeedbackRow.contact_id == ContactRow.id)
        .where(
            ContactRow.customer_id == bindparam(customer),
            ContactRow.arrival >= bindparam("since"),
        )
        .order_by(ContactRow.arrival.desc(), ContactRow.id.desc())
        .limit(HISTORY_CONTACTS + 1)
    )


@cache
def histories_statement(
    customers: int,
) -> Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]]:
    """The newest contacts of this many customers (bound as ``customer_0`` and on) in one
    statement: each customer's read as a subquery of its own, joined by UNION ALL (a
    window function over all of them would read every contact a customer has in the
    window). Built once for each count."""
    if customers == 1:
        return _newest_contacts("customer_0")
    return union_all(
        *(select(_newest_contacts(f"customer_{n}").subquery()) for n in range(customers))
    )


@cache
def cards_statement(customers: int) -> Select[*tuple[Any, ...]]:
    """The names and identities of this many customers (bound as ``customer_0`` and on,
    as ``histories_statement``'s: no expanding parameter, which the kept reads' compiled
    statements do not take)."""
    names: list[BindParameter[str]] = [bindparam(f"customer_{n}") for n in range(customers)]
    return (
        select(CustomerRow.id, CustomerRow.name, IdentityRow.kind, IdentityRow.value)
        .outerjoin(IdentityRow, IdentityRow.customer_id == CustomerRow.id)
        .where(CustomerRow.id.in_(names))
    )


class ContactLine(NamedTuple):
    """A row of ``histories_statement``, read through the driver."""

    id: str
    customer_id: str
    arrival: float
    channel: str
    subject: str
    queue: str
    agent_id: str | None
    state: str
    outcome: str | None
    resolved: bool | None
    csat: int | None


class CardLine(NamedTuple):
    """A row of ``cards_statement``, read through the driver."""

    id: str
    name: str
    kind: str | None
    value: str | None


MOST_CUSTOMERS = MOST_IN_ONE
"""The most customers one pair of statements reads; more are read in several."""
NO_CUSTOMER = ""
"""Fills a read's list of customers up to a power of two: customer ids are never empty
(router/ids.py ``ordered_id``)."""


Fetch = Callable[[Select[Any] | CompoundSelect[Any], dict[str, Any]], Awaitable[Iterable[Any]]]
"""Rows of a statement with its values, whose columns are read by name."""


async def read_histories(
    connection: AsyncConnection, asks: Sequence[HistoryAsk]
) -> list[CustomerHistory]:
    """Each ask's history, in order: two statements for up to ``MOST_CUSTOMERS``
    customers."""

    async def fetch(
        statement: Select[Any] | CompoundSelect[Any], values: dict[str, Any]
    ) -> CursorResult[Any]:
        result: CursorResult[Any] = await connection.execute(statement, values)
        return result

    return await _read(fetch, fetch, asks)


async def read_histories_kept(
    reads: KeptReads, asks: Sequence[HistoryAsk]
) -> list[CustomerHistory]:
    """As ``read_histories``, through ``reads`` (StoreError if the database cannot be
    read)."""

    async def contacts(
        statement: Select[Any] | CompoundSelect[Any], values: dict[str, Any]
    ) -> list[ContactLine]:
        return contact_lines(await fetch_statement(reads, statement, values))

    async def cards(
        statement: Select[Any] | CompoundSelect[Any], values: dict[str, Any]
    ) -> list[CardLine]:
        return [CardLine._make(row) for row in await fetch_statement(reads, statement, values)]

    return await _read(contacts, cards, asks)


async def _read(
    fetch_contacts: Fetch, fetch_cards: Fetch, asks: Sequence[HistoryAsk]
) -> list[CustomerHistory]:
    customers = sorted({ask.customer_id for ask in asks})
    since = min((ask.since for ask in asks), default=0.0)
    contacts: dict[str, list[Any]] = {customer: [] for customer in customers}
    cards: dict[str, list[Any]] = {customer: [] for customer in customers}
    for part in padded_parts(customers, NO_CUSTOMER):
        values: dict[str, Any] = {f"customer_{n}": customer for n, customer in enumerate(part)}
        found = await fetch_contacts(histories_statement(len(part)), {**values, "since": since})
        for row in found:
            if (rows := contacts.get(row.customer_id)) is not None:  # not NO_CUSTOMER's
                rows.append(row)
        for row in await fetch_cards(cards_statement(len(part)), values):
            if (rows := cards.get(row.id)) is not None:
                rows.append(row)
    for rows in contacts.values():  # UNION ALL keeps no order: newest first again
        rows.sort(key=lambda row: (row.arrival, row.id), reverse=True)
    return [history_of(ask, contacts[ask.customer_id], cards[ask.customer_id]) for ask in asks]


def contact_lines(rows: Rows) -> list[ContactLine]:
    """The driver's rows as lines; SQLite's booleans (0 or 1) as bools."""
    lines = [ContactLine._make(row) for row in rows]
    return [
        line._replace(resolved=bool(line.resolved)) if type(line.resolved) is int else line
        for line in lines
    ]


def history_of(ask: HistoryAsk, contacts: Sequence[Any], card: Sequence[Any]) -> CustomerHistory:
    """One ask's history from its customer's rows (newest first) and card rows. The rows
    were read from the earliest ``since`` of the batch: those before this ask's go, as
    does its ``besides``; the rest, up to ``HISTORY_CONTACTS``, are what a read of this
    ask alone returns (the read kept the customer's newest, so the extra older rows it
    may hold are the ones that go)."""
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
