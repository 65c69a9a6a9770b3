"""Free agents by profile (router/free_agents.py): the search through profile groups picks
the agent, and explains the search, exactly as walking every free agent did."""

from __future__ import annotations

import heapq
import random
from collections import Counter
from typing import Any

from router.decisions import Offered, Queued
from router.engine import Engine
from router.explain import TOP_CANDIDATES
from router.free_agents import ProfileGroup
from router.states import Presence
from skills.vocabulary import Channel
from tests.engine_helpers import agent, contact, engine, offer_id_for, online, policy

PROFILES = [
    {"billing": 5},
    {"billing": 2},
    {"billing": 5, "tech": 3},
    {"tech": 5},
]


def walk_every_agent(eng: Engine, intent: str, channel: Channel, now: float) -> dict[str, Any]:
    """The search as it was: every free candidate looked at one by one."""
    plan = policy(intent)
    requirements = plan.requirements(0)
    language = "it" if plan.match_language else None
    eligible: list[tuple[int, float, str]] = []
    excluded: Counter[str] = Counter()
    for agent_id in eng.index.candidates(channel, requirements):
        ag = eng.agents[agent_id]
        if ag.presence is not Presence.AVAILABLE or not ag.free_on(channel):
            continue
        if not ag.profile.speaks(language):
            excluded["language"] += 1
        elif not ag.profile.meets(requirements):
            excluded["proficiency below this step"] += 1
        else:
            ring = plan.ring_of(ag.profile)
            eligible.append(
                (ring if ring is not None else len(plan.steps), ag.idle_since, agent_id)
            )
    top = [agent_id for _ring, _since, agent_id in heapq.nsmallest(TOP_CANDIDATES, eligible)]
    return {"eligible": len(eligible), "excluded": dict(excluded), "top": top}


def test_the_search_by_profile_matches_walking_every_agent() -> None:
    rnd = random.Random(7)
    eng = engine()
    for n in range(60):
        languages = ("it", "en") if n % 5 else ("en",)
        skills = PROFILES[n % len(PROFILES)]
        online(eng, agent(f"a{n}", languages, {Channel.CHAT: 2}, **skills), float(n) / 10)
    now = 10.0
    checked = 0
    for n in range(300):
        now += rnd.random()
        roll = rnd.random()
        if roll < 0.15:  # an agent steps away or comes back
            who = f"a{rnd.randrange(60)}"
            presence = rnd.choice([Presence.AWAY, Presence.AVAILABLE])
            eng.set_presence(who, presence, now)
            continue
        if roll < 0.45:  # an offer is accepted, or a contact handled is completed
            offered = [c for c in eng.contacts.values() if c.offer_id is not None]
            handled = [c for c in eng.contacts.values() if c.agent_id and not c.offer_id]
            if offered and rnd.random() < 0.5:
                chosen = rnd.choice(offered)
                owner = eng.offers[offer_id_for(eng, chosen.contact_id)].agent_id
                eng.accept(owner, offer_id_for(eng, chosen.contact_id), now)
            elif handled:
                chosen = rnd.choice(handled)
                eng.wrap_up(
                    chosen.agent_id or "", chosen.contact_id, now, outcome="ok", resolved=True
                )
            continue
        intent = rnd.choice(["billing", "tech"])
        expected = walk_every_agent(eng, intent, Channel.CHAT, now)
        out = eng.add_contact(contact(f"c{n}", intent, arrival=now), now)
        decision = next(d for d in out.items if isinstance(d, Offered | Queued))
        search = decision.explanation["search"]
        assert search["eligible"] == expected["eligible"]
        assert search["excluded"] == expected["excluded"]
        assert [c["agent"] for c in search["candidates"]] == expected["top"]
        if expected["top"]:
            assert isinstance(decision, Offered) and decision.agent_id == expected["top"][0]
            checked += 1
    assert checked > 50


def test_a_group_heap_stays_near_its_size_and_gives_the_longest_waiting_first() -> None:
    group = ProfileGroup(agent("p", billing=5))
    for n in range(20):
        group.put(f"a{n}", (float(n), 0.0))
    for round_ in range(200):  # agents waiting since later and later
        for n in range(20):
            group.put(f"a{n}", (float(20 * round_ + n + 100), 0.0))
        assert all(len(heap) <= 2 * 20 + 64 + 1 for heap in group.heaps)
    agents = {f"a{n}": object() for n in range(20)}
    best = group.longest_waiting(
        "idle_since",
        agents,  # type: ignore[arg-type]
        3,
        lambda agent_id: agent_id == "a0",  # the contact skips a0
        lambda _agent: True,
    )
    assert [agent_id for _since, agent_id in best] == ["a1", "a2", "a3"]
    del group.members["a1"]  # left the group: its entries are stale
    again = group.longest_waiting("idle_since", agents, 2, lambda _a: False, lambda _a: True)  # type: ignore[arg-type]
    assert [agent_id for _since, agent_id in again] == ["a0", "a2"]
