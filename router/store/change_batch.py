"""Many units of row changes written together: one statement per kind of row, not per row.

A journal batch at a shift start holds hundreds of routing units (offer made, contact
offered, event, gateway event...). Written one statement at a time, each costs a round trip
to PostgreSQL; written here, the batch's changes are grouped so that each kind of row
change is one statement (on SQLite a multi-row INSERT or UPDATE; on PostgreSQL one
statement for all but the plans).

The result is the same as applying every change in order, because the groups are written
in an order that respects what depends on what, and only such changes are regrouped:

1. plans (router/store/plans.py: one statement, each checked for a contact still
   ``received``);
2. new offers, agent states, routing events and gateway events, each kept in submission
   order (inserts: nothing queued before them changes them, and they change nothing the
   updates read); an update of an offer inserted in the group is merged into its insert;
3. contact updates, merged per contact (later values win, as if applied in turn);
4. updates of offers inserted before the group, merged per offer.

On PostgreSQL 1-4 are one statement (router/store/pg_changes.py; a plan and the updates
of its contact that followed it are one row of it).

A plan for a contact that already has an update waiting in the group (the order would
change) first writes out what was grouped so far.

While a router fence is claimed (several nodes), a PostgreSQL batch whose changes make one
group is that one statement with the fence in it, which commits by itself:
``ChangeSet.write_once`` lets the journal send it without BEGIN and COMMIT
(router/store/pg_connection.py, pg_fence.py), one round trip instead of four.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from router.store import changes as c
from router.store import driver
from router.store.new_rows import with_defaults
from router.store.pg_changes import write_rows
from router.store.pg_connection import NeedsTransaction
from router.store.pg_fence import FenceCheck
from router.store.plans import plan_contacts
from router.store.schema import OfferRow
from router.store.sqlite_updates import update_rows


class ChangeGroups:
    """The changes of many units, grouped; ``write`` sends each group as one statement."""

    def __init__(self) -> None:
        self.plans: list[c.ContactPlan] = []
        self.offers: list[dict[str, Any]] = []
        self.new_offers: dict[Any, dict[str, Any]] = {}  # id -> its row in ``offers``
        self.agent_states: list[dict[str, Any]] = []
        self.contacts: dict[str, dict[str, Any]] = {}
        self.offer_updates: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.outbox: list[dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(
            self.plans
            or self.offers
            or self.agent_states
            or self.contacts
            or self.offer_updates
            or self.events
            or self.outbox
        )

    def conflicts(self, change: c.Change) -> bool:
        """Would grouping ``change`` write it before a change it must follow?"""
        if isinstance(change, c.ContactPlan):
            return change.contact_id in self.contacts
        if isinstance(change, c.OfferInsert):
            return change.values.get("id") in self.offer_updates
        return False

    def add(self, change: c.Change) -> None:
        if isinstance(change, c.EventInsert):
            self.events.append(
                {
                    "contact_id": change.contact_id,
                    "at": change.at,
                    "kind": change.kind,
                    "detail": change.detail,
                }
            )
        elif isinstance(change, c.ContactUpdate):
            self.contacts.setdefault(change.contact_id, {}).update(change.values)
        elif isinstance(change, c.OfferInsert):
            row = dict(change.values)  # later updates of it are merged into it
            self.offers.append(row)
            self.new_offers[row.get("id")] = row
        elif isinstance(change, c.OutboxInsert):
            self.outbox.append(change.values)
        elif isinstance(change, c.AgentStateInsert):
            self.agent_states.append(change.values)
        elif isinstance(change, c.ContactPlan):
            self.plans.append(change)
        elif change.offer_id in self.new_offers:
            self.new_offers[change.offer_id].update(change.values)
        else:
            self.offer_updates.setdefault(change.offer_id, {}).update(change.values)

    def write(self, connection: Connection, fence: FenceCheck | None = None) -> None:
        """``fence`` (PostgreSQL): the one statement checks it and commits by itself."""
        if connection.dialect.name == "postgresql":
            write_rows(
                connection,
                (self.offers, self.agent_states, self.events, self.outbox),
                self.contacts,
                self.offer_updates,
                self.plans,
                fence,
            )
            return
        # SQLite; every column given: offers with merged updates insert in one statement
        plan_contacts(connection, self.plans)
        offers = [with_defaults(OfferRow, row) for row in self.offers]
        driver.execute_many(connection, c.INSERT_OFFER, offers)  # (an executemany each)
        driver.execute_many(connection, c.INSERT_AGENT_STATE, self.agent_states)
        driver.execute_many(connection, c.INSERT_EVENTS, self.events)
        driver.execute_many(connection, c.INSERT_OUTBOX, self.outbox)
        _update(connection, c.CONTACTS, self.contacts.items())
        _update(connection, c.OFFERS, self.offer_updates.items())


def write_changes(
    connection: Connection,
    units: Iterable[Sequence[c.Change]],
    *,
    fence: FenceCheck | None = None,
) -> None:
    """Apply the changes of ``units`` in order, grouped as the module says. ``fence``
    (PostgreSQL, outside a transaction): in one group, its statement checking the fence,
    or ``NeedsTransaction`` before anything is written."""
    groups = ChangeGroups()
    for changes in units:
        for change in changes:
            if groups.conflicts(change):
                if fence is not None:
                    raise NeedsTransaction("changes that must follow others of the batch")
                groups.write(connection)
                groups = ChangeGroups()
            groups.add(change)
    if groups:
        groups.write(connection, fence)


def _update(
    connection: Connection, table: Table, rows: Iterable[tuple[str, dict[str, Any]]]
) -> None:
    """SQLite: one prepared ``UPDATE`` sent with ``executemany`` per set of columns updated
    (router/store/sqlite_updates.py)."""
    by_columns: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = {}
    for row_id, values in rows:
        by_columns.setdefault(tuple(sorted(values)), []).append((row_id, values))
    for cut in by_columns.values():
        update_rows(connection, table, cut)


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """A journal unit: row changes applied in order. The journal writes consecutive change
    sets of one batch together (``write_together``)."""

    changes: Sequence[c.Change]

    def __call__(self, connection: Connection) -> None:
        write_changes(connection, [self.changes])

    @staticmethod
    def write_together(connection: Connection, units: Sequence[ChangeSet]) -> list[None]:
        write_changes(connection, (unit.changes for unit in units))
        return [None] * len(units)

    @staticmethod
    def write_once(
        connection: Connection, units: Sequence[ChangeSet], fence: FenceCheck | None
    ) -> list[None]:
        """While a router fence is claimed (``fence``), on PostgreSQL: the units as one
        statement holding the fence, or ``NeedsTransaction`` (nothing written) if they
        need more (router/store/pg_connection.py)."""
        if fence is None or connection.dialect.name != "postgresql":
            raise NeedsTransaction("one statement only with a fence, on PostgreSQL")
        write_changes(connection, (unit.changes for unit in units), fence=fence)
        return [None] * len(units)


def changes_work(changes: Sequence[c.Change]) -> ChangeSet:
    return ChangeSet(changes)
