"""New contacts taken in by the journal in batches, with nothing else running: the CPU and
wall time of a batch, and its statements.

    python bench/take_batch.py [--database-url URL] [--batches 300] [--size 24] [--offers]
        [--routed] [--fenced]

Each batch is ``--size`` contacts submitted at once through ``store.received.take`` (as
intake does), two in three with a new customer and one in three with a returning one;
the store's journal takes them in together (router/store/take_batch.py; on PostgreSQL
router/store/pg_take.py). Without ``--database-url``: a SQLite file in a temporary
directory. A PostgreSQL URL must name a database this may fill (its contacts, customers
and identities tables get the batches' rows). Prints the process's CPU and the wall time
per batch, after 30 batches of warm-up, and the statements of one batch by their first
word.

``--offers``: the contacts are stored first (not timed); each batch is then ``--size``
routing units committed at once, each an offer made as the router writes it (the offer,
the contact's update, its routing event and its gateway event; router/store/
change_batch.py, on PostgreSQL router/store/pg_changes.py). ``--routed``: each unit is a
new contact routed as the router writes it: its plan (queue, rule, policy...) and an offer
made (on PostgreSQL one statement for the batch, in its transaction). ``--fenced``: the
store first claims a router fence, as the active router of several nodes does (on
PostgreSQL a batch's one statement then holds the fence, router/store/pg_fence.py; before,
the fence was a statement of its own in the batch's transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

# the checkout this script is in, not the one the virtualenv's editable install points at
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from router.states import RECEIVED
from router.store.change_batch import changes_work
from router.store.changes import (
    ContactPlan,
    ContactUpdate,
    EventInsert,
    OfferInsert,
    OutboxInsert,
)
from router.store.repository import Store
from skills.identity import email_identity

WARM_UP = 30


def received(message_id: str, now: float) -> dict[str, Any]:
    """A contact's row as intake stores it (router/reception.py received_values)."""
    return {
        "id": uuid.uuid4().hex,
        "domain": "default",
        "gateway": "bench",
        "external_id": message_id,
        "channel": "chat",
        "customer_id": None,
        "customer": {"name": "Cliente"},
        "language": "it",
        "intent": "billing",
        "subject": "",
        "text": "Buongiorno, la bolletta di marzo è arrivata doppia. " * 3,
        "attributes": {},
        "urgency": 0.4,
        "history_boost": 0.0,
        "preferred_agent": None,
        "queue": "",
        "rule": "",
        "policy": {},
        "triage": {RECEIVED: {"language": "it", "explanation": "x" * 600}},
        "state": RECEIVED,
        "arrival": now,
        "updated_at": now,
    }


def offer_made(contact_id: str, now: float) -> list[Any]:
    """The row changes of an offer made (router/recorder.py)."""
    offer_id = uuid.uuid4().hex
    explanation = {"rule": "billing", "score": 0.7, "why": "x" * 300}
    return [
        OfferInsert(
            {
                "id": offer_id,
                "contact_id": contact_id,
                "agent_id": "anna",
                "made_at": now,
                "expires_at": now + 30,
                "explanation": explanation,
            }
        ),
        ContactUpdate(contact_id, {"state": "offered", "agent_id": "anna", "updated_at": now}),
        EventInsert(contact_id, now, "offered", {"offer_id": offer_id, "agent_id": "anna"}),
        OutboxInsert(
            {
                "event_id": uuid.uuid4().hex,
                "contact_id": contact_id,
                "type": "contact.offered",
                "at": now,
                "payload": {"contact_id": contact_id, "agent_id": "anna"},
            }
        ),
    ]


def routed(contact_id: str, now: float) -> list[Any]:
    """A new contact's plan and its offer, in one unit (router/intake.py)."""
    plan = {
        "queue": "billing",
        "rule": "billing",
        "policy": {"queue": "billing", "skills": ["billing"], "sla_seconds": 20},
        "triage": {"language": "it", "urgency": 0.4, "explanation": "x" * 300},
        "history_boost": 0.0,
        "preferred_agent": None,
        "state": "queued",
        "updated_at": now,
    }
    return [ContactPlan(contact_id, plan), *offer_made(contact_id, now)]


async def run(
    url: str, batches: int, size: int, offers: bool, plans: bool = False, fenced: bool = False
) -> None:
    store = await Store.open(url)
    if fenced:  # a newer epoch than any earlier run's in this database
        await store.claim_fence("bench", int(time.time()))
    count = 0
    run_id = uuid.uuid4().hex[:8]
    stored: list[str] = []

    async def take_batch() -> None:
        nonlocal count
        takes = []
        for index in range(size):
            count += 1
            person = count if index % 3 else count % 50  # one in three comes back
            identity = email_identity(f"p{run_id}{person}@example.it")
            values = received(f"{run_id}-{count}", time.time())
            takes.append(store.received.take(values, (identity,), "", time.time()))
        stored.extend(taken.contact_id for taken in await asyncio.gather(*takes))

    async def offer_batch() -> None:
        now = time.time()
        made = routed if plans else offer_made
        units = [changes_work(made(stored.pop(), now)) for _ in range(size)]
        await asyncio.gather(*(store.commit(unit) for unit in units))

    batch = take_batch
    try:
        if offers:
            for _ in range(WARM_UP + 1 + batches):
                await take_batch()
            batch = offer_batch
        for _ in range(WARM_UP):
            await batch()
        statements: Counter[str] = Counter()
        engine = store.journal._sync_engine or store.journal._engine.sync_engine

        def seen(*args: Any) -> None:
            statements[args[2].split()[0].upper()] += 1

        event.listen(engine, "before_cursor_execute", seen)
        await batch()
        event.remove(engine, "before_cursor_execute", seen)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(batches):
            await batch()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await store.close()
    print(
        f"{store.engine.dialect.name}: {batches} batches of {size} "
        f"{('contacts routed' if plans else 'offers made') if offers else 'new contacts'}"
        f"{', fenced' if fenced else ''}: "
        f"CPU {cpu / batches * 1000:.2f} ms a batch ({cpu / batches / size * 1000:.3f} ms "
        f"{'an offer' if offers else 'a contact'}), wall {wall / batches * 1000:.2f} ms a "
        f"batch; statements of one batch: "
        f"{dict(statements)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--size", type=int, default=24)
    parser.add_argument("--offers", action="store_true", help="time offers made instead")
    parser.add_argument("--routed", action="store_true", help="each offer with its plan")
    parser.add_argument("--fenced", action="store_true", help="claim a router fence first")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}, load {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        offers = args.offers or args.routed
        asyncio.run(run(url, args.batches, args.size, offers, args.routed, args.fenced))


if __name__ == "__main__":
    main()
