"""New contacts of many journal units taken in together: a handful of statements for the
whole run, not five per contact.

One contact taken by itself (``ReceivedContacts.take_one``) costs a look-up of its message
id, a look-up of its identities, the customer's row, its identities and the contact: five
round trips. At a shift start a batch holds dozens of new contacts, and on PostgreSQL
each round trip waits its turn at a busy interpreter. Taken together they cost (a unit
alone in its batch is taken this way too, as a run of one):

1. one look-up of every message id of the run (a retry finds its contact), per gateway;
2. one look-up of every identity of the run, per kind, and one of the owners' ``merged_into``;
3. in Python, in order: each contact's customer (an identity given earlier in the run
   belongs to the customer made for it, as if the units ran one after another);
4. one INSERT each for the new customers, their identities and the contacts, and one
   upsert of the new contacts' thread keys (a chat session, an email's Message-ID: the
   newest contact wins), so a contact is never stored without the thread that finds it.

On PostgreSQL 1 and 2 are one SELECT and 4 is one INSERT (router/store/pg_take.py): two
round trips for the run, and no BEGIN or COMMIT when the batch is nothing else (the
journal's intake lane; the one INSERT commits by itself, all or nothing). There the run is
first taken as unseen (``take_as_unseen``): steps 3 and 4 as if the look-up had found
nothing, one round trip. The unique keys (message id; identity kind and value) refuse
that INSERT whole if it was not unseen (a retry, a customer who was here before and whose
identities the reception has not cached), and the run is taken again after the look-up.
Most new contacts are unseen (the reception's caches answer for the customers it knows,
and retries to this process), and a refused INSERT costs a round trip more, so after one
the runs look up first for a while (``Guesses``). PostgreSQL's server log shows each
refused INSERT as an error (a duplicate key): expected, nothing was written. At 400
contacts/s with 2,000 desktops a new contact waited for its commit 5.9 ms on average with
the look-up and 3.7 ms without (a temporary per-contact trace, one run each;
bench/offer_latency.py).

Where it would not be the same as taking them one by one, the run is taken one by one in
the same transaction: a contact whose identities belong to several customers or to a
merged one (linking is the ORM's path; outside a transaction the run asks for one).
A contact stored meanwhile by another node (the unique constraint answers: on SQLite the
INSERT skips it and counts fewer rows, on PostgreSQL it fails) fails the run, and the
journal then takes each unit alone, where the one that lost the race is answered and
retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from router.ids import ordered_id
from router.states import RECEIVED
from router.store import driver, pg_take
from router.store.changes import CONTACTS
from router.store.customers import (
    INSERT_CUSTOMER,
    INSERT_IDENTITY,
    OWNERS,
    ResolvedCustomer,
)
from router.store.errors import StoreError
from router.store.pair_lookup import marks, pair_lookup
from router.store.pg_connection import NeedsTransaction
from router.store.pg_fence import FenceCheck
from router.store.pg_take import Found
from router.store.thread_links import thread_rows, upsert_thread
from skills.identity import Identity

BY_MESSAGES = pair_lookup(CONTACTS, "gateway", "external_id", ("gateway", "external_id", "id"))
MERGED = 'SELECT "id", "merged_into" FROM "customers" WHERE "id" IN ({marks})'


@dataclass(frozen=True, slots=True)
class Taken:
    contact_id: str
    created: bool  # False: the message id was stored before (nothing written)
    customer: ResolvedCustomer | None  # None: no identities to resolve, or a duplicate
    row: dict[str, Any] | None = None  # what was stored (None for a duplicate)


@dataclass(frozen=True, slots=True)
class Take:
    """One new contact to take in: its row, its identities and the customer's name."""

    values: dict[str, Any]
    identities: Sequence[Identity]
    name: str
    now: float
    threads: Sequence[str] = ()  # the gateway's thread keys that point at this contact

    def thread_rows(self) -> list[dict[str, Any]]:
        """The ``threads`` rows of this contact (router/dispatch.py's threading)."""
        return thread_rows(self.values["gateway"], self.threads, self.values["id"], self.now)


TakeOne = Callable[[Connection, Take], Taken]


def take_together(
    connection: Connection,
    takes: Sequence[Take],
    insert_contact: Insert,
    take_one: TakeOne,
    *,
    one_write: bool = False,
    before: Found | None = None,
    fence: FenceCheck | None = None,
) -> list[Taken]:
    """Take ``takes`` in order, as the module says; ``take_one`` is the one-by-one path.
    ``one_write`` (PostgreSQL, no transaction): NeedsTransaction instead of that path, and
    the INSERT checks ``fence``, if any (router/store/pg_fence.py). ``before``: what is
    stored of the run, if known without the look-up."""
    postgres = connection.dialect.name == "postgresql"
    keys = [(t.values["gateway"], t.values["external_id"]) for t in takes]
    if before is None:
        pairs = sorted({(i.kind, i.value) for t in takes for i in t.identities})
        before = (pg_take.look_up if postgres else _look_up)(connection, keys, pairs)
    stored, owners, merged = before.contacts, before.owners, before.merged
    customers: list[dict[str, Any]] = []
    identities: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    threads: dict[tuple[str, str], dict[str, Any]] = {}  # the newest contact of a key wins
    results: list[Taken] = []
    for take, key in zip(takes, keys, strict=True):
        if key in stored:  # a retry (or a twin earlier in this run): nothing written
            results.append(Taken(stored[key], False, None))
            continue
        resolved = None
        row = take.values
        if take.identities:
            wanted = sorted({(i.kind, i.value) for i in take.identities})
            found = {owners[w] for w in wanted if w in owners}
            if len(found) > 1 or any(merged.get(owner) is not None for owner in found):
                if one_write:
                    raise NeedsTransaction("linking customers takes several writes")
                return [take_one(connection, t) for t in takes]  # linking: one by one
            if found:
                (customer_id,) = found
            else:
                customer_id = ordered_id()
                customers.append({"id": customer_id, "name": take.name, "created_at": take.now})
                merged[customer_id] = None
            for kind, value in wanted:
                if (kind, value) not in owners:
                    owners[(kind, value)] = customer_id
                    identities.append(
                        {
                            "kind": kind,
                            "value": value,
                            "customer_id": customer_id,
                            "created_at": take.now,
                        }
                    )
            resolved = ResolvedCustomer(customer_id, not found, (), tuple(sorted(take.identities)))
            row = with_customer(take.values, resolved)
        stored[key] = take.values["id"]
        contacts.append(row)
        for thread in take.thread_rows():
            threads[(thread["gateway"], thread["key"])] = thread
        results.append(Taken(take.values["id"], True, resolved, row))
    if contacts:  # (customers and identities are only made for new contacts)
        thread_rows = list(threads.values())
        if postgres:
            inserted = pg_take.insert(
                connection, customers, identities, contacts, thread_rows, fence
            )
        else:
            inserted = _insert(
                connection, customers, identities, contacts, thread_rows, insert_contact
            )
        if inserted != len(contacts):  # (on PostgreSQL the INSERT fails instead)
            raise StoreError("a message id was stored meanwhile; retry")  # another node's
    return results


def take_as_unseen(
    connection: Connection,
    takes: Sequence[Take],
    insert_contact: Insert,
    take_one: TakeOne,
    fence: FenceCheck | None = None,
) -> list[Taken] | None:
    """PostgreSQL outside a transaction: the run taken as if none of its message ids and
    identities were stored, without the look-up: one statement. None if some were (a
    unique key refused the INSERT, which wrote nothing then; so did another error, which
    the look-up's way meets again)."""
    try:
        return take_together(
            connection,
            takes,
            insert_contact,
            take_one,
            one_write=True,
            before=Found({}, {}, {}),
            fence=fence,
        )
    except IntegrityError:
        return None


@dataclass(slots=True)
class Guesses:
    """Whether a run of new contacts is first taken as unseen (``take_as_unseen``): yes,
    but not for the ``PAUSE`` runs after one that was not unseen, since each such miss
    costs a statement (a restart's first contacts of returning customers, whose
    identities the reception has not cached yet; large runs hold one more often)."""

    PAUSE = 16
    paused: int = 0

    def worth_it(self) -> bool:
        if self.paused:
            self.paused -= 1
            return False
        return True

    def missed(self) -> None:
        self.paused = self.PAUSE


def _insert(
    connection: Connection,
    customers: Sequence[dict[str, Any]],
    identities: Sequence[dict[str, Any]],
    contacts: list[dict[str, Any]],
    threads: Sequence[dict[str, Any]],
    insert_contact: Insert,
) -> int:
    """What ``pg_take.insert`` does, in an ``executemany`` per table, on the driver's
    cursor (router/store/driver.py). Returns how many contacts were inserted (the INSERT
    skips a message id stored meanwhile)."""
    if customers:
        driver.execute_many(connection, INSERT_CUSTOMER, customers)
    if identities:
        driver.execute_many(connection, INSERT_IDENTITY, identities)
    inserted = driver.execute_many(connection, insert_contact, contacts)
    if threads and inserted == len(contacts):  # (else the run fails and is taken again)
        driver.execute_many(connection, upsert_thread(connection), threads)
    return inserted


def _look_up(
    connection: Connection, keys: Sequence[tuple[str, str]], pairs: Sequence[tuple[str, str]]
) -> Found:
    """What ``pg_take.look_up`` finds, in up to three statements (SQLite answers in
    process: a round trip costs nothing there), each reading a unique key's index, on the
    driver's cursor."""
    stored = {
        (gateway, message): contact_id
        for gateway, message, contact_id in BY_MESSAGES.rows(connection, keys)
    }
    owners = {
        (kind, value): customer_id for kind, value, customer_id in OWNERS.rows(connection, pairs)
    }
    merged: dict[str, str | None] = {}
    if owners:
        ids = sorted(set(owners.values()))
        found = driver.on_cursor(connection, MERGED.format(marks=marks(len(ids))), ids)
        merged = {row[0]: row[1] for row in found.rows}
    return Found(stored, owners, merged)


def with_customer(values: dict[str, Any], resolved: ResolvedCustomer) -> dict[str, Any]:
    """The contact's row with its customer, and the reception's customer facts."""
    facts = dict(values["triage"][RECEIVED])
    facts["known_customer"] = resolved.known
    facts["linked"] = list(resolved.merged)
    return {
        **values,
        "customer_id": resolved.customer_id,
        "triage": {**values["triage"], RECEIVED: facts},
    }
