"""Routing cost against the number of unrelated waiting contacts (indexed matching).

Fills the engine with N contacts that nobody online can serve, then times a loop of
related work: a contact arrives, is offered, accepted and wrapped up, freeing the agent,
who then takes the next one. With indexed matching the cost per decision stays flat as N
grows. Also prints the memory held per queued contact.

    python bench/matching_scaling.py            # N = 0, 1k, 10k, 50k
"""

from __future__ import annotations

import gc
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.engine import Engine
from router.models import NewContact
from router.states import Presence
from skills.vocabulary import AgentProfile, Channel
from tests.engine_helpers import RULES, policy

CYCLES = 5000


def filled_engine(unrelated: int) -> Engine:
    engine = Engine(RULES.config)
    tech = policy("tech")
    for i in range(unrelated):
        engine.add_contact(
            NewContact(f"u{i}", Channel.EMAIL, float(i % 997), tech, language="it"), 1000.0
        )
    return engine


def time_cycles(engine: Engine) -> float:
    billing = policy("billing")
    for i in range(20):
        profile = AgentProfile(f"a{i}", skills={"billing": 5}, languages=frozenset({"it"}))
        engine.upsert_agent(profile, 1000.0)
        engine.set_presence(f"a{i}", Presence.AVAILABLE, 1000.0)
    now = 1000.0
    decisions = 0
    start = time.perf_counter()
    for i in range(CYCLES):
        now += 0.01
        out = engine.add_contact(
            NewContact(f"b{i}", Channel.CHAT, now, billing, language="it"), now
        )
        decisions += len(out)
        offer = engine.contacts[f"b{i}"].offer_id
        if offer is None:
            continue
        agent_id = engine.offers[offer].agent_id
        decisions += len(engine.accept(agent_id, offer, now))
        decisions += len(engine.wrap_up(agent_id, f"b{i}", now, outcome="ok", resolved=True))
    elapsed = time.perf_counter() - start
    return elapsed / decisions * 1e6


def memory_per_contact(count: int) -> float:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    engine = filled_engine(count)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del engine
    return used / count


def main() -> None:
    print(f"{'unrelated waiting':>18} | {'µs per decision':>15}")
    for unrelated in (0, 1_000, 10_000, 50_000):
        engine = filled_engine(unrelated)
        micros = time_cycles(engine)
        print(f"{unrelated:>18,} | {micros:>15.1f}")
    print(f"memory per queued contact (20,000 queued): {memory_per_contact(20_000):,.0f} bytes")


if __name__ == "__main__":
    main()
