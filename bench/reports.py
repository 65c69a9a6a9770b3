"""What report aggregation costs (it runs in the background, never on the routing path).

Writes a day of traffic into a fresh database through the store (contacts answered,
handled and completed, a share abandoned, agents' state changes), then times the job:
the whole day's 96 intervals from scratch, and one refresh of the interval in progress
with the day already aggregated (what a report request or the periodic job does).

    python bench/reports.py [--contacts 20000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.reports.aggregate import INTERVAL
from router.reports.job import GRACE, Reporter
from router.store.changes import AgentStateInsert, ContactUpdate, EventInsert
from router.store.repository import Store
from tests.engine_helpers import RULES, policy

DAY = 86400.0
START = 1_800_000_000.0 - 1_800_000_000.0 % DAY


async def fill(store: Store, contacts: int, agents: int) -> None:
    rng = random.Random(16)
    billing = policy("billing").to_dict()
    for n in range(contacts):
        arrival = START + rng.uniform(0, DAY - 3600)
        contact_id = f"c{n}"
        await store.add_contact(
            {
                "id": contact_id,
                "gateway": "bench",
                "external_id": contact_id,
                "channel": rng.choice(["voice", "chat", "email"]),
                "queue": "billing",
                "rule": "billing",
                "policy": billing,
                "state": "queued",
                "arrival": arrival,
                "updated_at": arrival,
            }
        )
        wait = rng.expovariate(1 / 20)
        events = [EventInsert(contact_id, arrival, "queued", {"queue": "billing"})]
        if rng.random() < 0.05:
            events.append(
                EventInsert(contact_id, arrival + wait, "abandoned", {"waited_seconds": wait})
            )
            ended = arrival + wait
        else:
            agent = f"a{rng.randrange(agents)}"
            answered = arrival + wait
            ended = answered + rng.expovariate(1 / 240)
            events += [
                EventInsert(contact_id, answered, "offered", {"agent_id": agent}),
                EventInsert(
                    contact_id, answered, "assigned", {"agent_id": agent, "waited_seconds": wait}
                ),
                EventInsert(contact_id, ended - 20, "wrap_up", {"agent_id": agent}),
                EventInsert(contact_id, ended, "completed", {"agent_id": agent}),
            ]
        events.append(ContactUpdate(contact_id, {"ended_at": ended, "state": "completed"}))
        store.record(events)
    for a in range(agents):
        at = START + 8 * 3600
        for presence in ("available", "away", "available", "offline"):
            store.record(
                [
                    AgentStateInsert(
                        {
                            "agent_id": f"a{a}",
                            "at": at,
                            "kind": "state",
                            "presence": presence,
                            "code": "break" if presence == "away" else "",
                        }
                    )
                ]
            )
            at += rng.uniform(1800, 4 * 3600)
    await store.journal.drain()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        store = await Store.open(url)
        try:
            started = time.perf_counter()
            await fill(store, args.contacts, args.agents)
            took = time.perf_counter() - started
            print(f"wrote {args.contacts} contacts in {took:.1f} s ({url.split(':')[0]})")
            reporter = Reporter(store.reports, lambda: RULES.config)
            now = START + DAY - INTERVAL / 2
            started = time.perf_counter()
            done = 0
            while True:
                written = await reporter.refresh(now)
                done += written
                if await store.reports.done_until() == now - now % INTERVAL:
                    break
            whole = time.perf_counter() - started
            each = whole / done * 1000
            print(f"the day, {done} intervals from scratch: {whole:.2f} s ({each:.1f} ms each)")
            timings = []
            for _ in range(5):
                started = time.perf_counter()
                await reporter.refresh(now + GRACE / 10)
                timings.append(time.perf_counter() - started)
            print(
                f"one refresh of the interval in progress: {min(timings) * 1000:.1f} ms (best of 5)"
            )
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(main())
