"""Engine throughput in-process: 5,000 agents, 50 skills, 50,000 queued contacts.

Fills the queues with 50,000 contacts needing one of 50 skills (mixed channels and
languages), brings 5,000 agents online (each with 3 skills) so they pick contacts from the
backlog, then runs a steady loop: an agent finishes a contact (wrap-up), pulls the next one
from the backlog (offer), accepts it, and a new contact arrives to keep the backlog full.
Prints routing decisions per second (every engine output counts: offers, offer outcomes,
assignments, completions, queueing) and the memory held per queued contact.

    python bench/engine_bench.py [--agents 5000] [--skills 50] [--queued 50000] [--cycles 50000]
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.decisions import Offered
from router.engine import Engine
from router.models import NewContact, RoutePolicy, Step
from router.rules.model import QueueSpec, RoutingConfig
from router.states import Presence
from skills.vocabulary import AgentProfile, Channel

CHANNELS = (Channel.CHAT, Channel.EMAIL, Channel.VOICE, Channel.SOCIAL)
STEPS = (Step(0, 3), Step(30, 2), Step(90, 1))


def build(skills: int) -> tuple[Engine, list[RoutePolicy]]:
    queues = {f"q{i}": QueueSpec(skills={f"s{i}": 1}) for i in range(skills)}
    config = RoutingConfig(default_queue="q0", queues=queues)
    policies = [
        RoutePolicy(f"rule{i}", f"q{i}", float(i % 5) * 10, ((f"s{i}", 1),), True, STEPS, 0.0)
        for i in range(skills)
    ]
    return Engine(config), policies


def contact(n: int, rnd: random.Random, policies: list[RoutePolicy], now: float) -> NewContact:
    return NewContact(
        f"c{n}",
        rnd.choice(CHANNELS),
        now - rnd.random() * 600,
        rnd.choice(policies),
        language=rnd.choice(("it", "it", "en")),
        urgency=rnd.random() * 0.5,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--skills", type=int, default=50)
    parser.add_argument("--queued", type=int, default=50_000)
    parser.add_argument("--cycles", type=int, default=50_000)
    args = parser.parse_args()
    rnd = random.Random(7)
    engine, policies = build(args.skills)
    now = 1_000_000.0

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n in range(args.queued):
        engine.add_contact(contact(n, rnd, policies, now), now)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_contact = sum(s.size_diff for s in after.compare_to(before, "filename")) / args.queued

    for a in range(args.agents):
        skills = {f"s{i}": rnd.randint(2, 5) for i in rnd.sample(range(args.skills), 3)}
        engine.upsert_agent(AgentProfile(f"a{a}", f"a{a}", skills, frozenset({"it", "en"})), now)
    start = time.perf_counter()
    decisions = 0
    for a in range(args.agents):
        out = engine.set_presence(f"a{a}", Presence.AVAILABLE, now)
        decisions += len(out)
        for offer in list(engine.agents[f"a{a}"].offers.values()):
            decisions += len(engine.accept(offer.agent_id, offer.offer_id, now))
    fill_seconds = time.perf_counter() - start
    print(
        f"engine: {args.agents:,} agents, {args.skills} skills, "
        f"{len(engine.contacts):,} live contacts after agents took their first work"
    )
    print(f"  login of all agents: {decisions:,} decisions in {fill_seconds:.2f} s")

    held = [(a.agent_id, c) for a in engine.agents.values() for cs in a.load.values() for c in cs]
    serial = args.queued
    decisions = 0
    start = time.perf_counter()
    for cycle in range(args.cycles):
        now += 0.01
        index = rnd.randrange(len(held))
        agent_id, contact_id = held[index]
        out = engine.wrap_up(agent_id, contact_id, now, outcome="ok", resolved=True)
        decisions += len(out)
        held[index] = held[-1]
        held.pop()
        for offer in list(engine.agents[agent_id].offers.values()):
            accepted = engine.accept(agent_id, offer.offer_id, now)
            decisions += len(accepted)
            held.append((agent_id, offer.contact_id))
        serial += 1
        arrival = engine.add_contact(contact(serial, rnd, policies, now), now)
        decisions += len(arrival)
        for offered in arrival.of(Offered):  # a free agent took it at once
            decisions += len(engine.accept(offered.agent_id, offered.offer_id, now))
            held.append((offered.agent_id, offered.contact_id))
        if cycle % 1000 == 0:
            decisions += len(engine.advance(now))  # bullseye steps coming due
    elapsed = time.perf_counter() - start
    waiting = sum(1 for c in engine.contacts.values() if c.agent_id is None)
    print(
        f"  steady state: {args.cycles:,} completions, {decisions:,} decisions in "
        f"{elapsed:.2f} s = {decisions / elapsed:,.0f} decisions/s "
        f"({elapsed / args.cycles * 1e6:.0f} µs per completion+next offer+arrival)"
    )
    print(f"  still waiting at the end: {waiting:,}")
    print(
        f"memory per queued contact: {per_contact:,.0f} bytes "
        f"(engine state incl. lanes and timers, measured with tracemalloc)"
    )


if __name__ == "__main__":
    main()
