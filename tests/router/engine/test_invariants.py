"""Invariants under random event storms, and the cost of matching with many unrelated contacts."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from router.decisions import EngineError, Offered, Queued
from router.engine import Engine
from router.rules.model import OverflowSpec, QueueSpec
from router.states import ContactState, Presence
from skills.vocabulary import Channel
from tests.engine_helpers import RULES, agent, contact, engine, online

INTENTS = ["billing", "lost_card", "tech", "other"]
OVERFLOWING = {
    **RULES.config.queues,
    "billing": QueueSpec(
        skills={"billing": 1}, overflow=(OverflowSpec(to="tech", after=20.0, priority=10.0),)
    ),
    "cards": QueueSpec(
        skills={"cards": 1}, overflow=(OverflowSpec(to="general", after=40.0, priority=50.0),)
    ),
}


def check_invariants(eng: Engine) -> None:
    offered_contacts: Counter[str] = Counter()
    for offer in eng.offers.values():
        offered_contacts[offer.contact_id] += 1
        live = eng.contacts[offer.contact_id]
        assert live.state is ContactState.OFFERED and live.offer_id == offer.offer_id
        assert offer.offer_id in eng.agents[offer.agent_id].offers
    assert all(count == 1 for count in offered_contacts.values()), "a contact offered twice"
    for live in eng.contacts.values():
        if live.state is ContactState.OFFERED:
            assert live.offer_id in eng.offers
        if live.state in (ContactState.ASSIGNED, ContactState.WRAP_UP):
            assert live.contact_id in eng.agents[live.agent_id or ""].load[live.channel]
        if live.state is ContactState.QUEUED:
            assert live.offer_id is None and live.agent_id is None
            if live.held_until > 0:  # held (a callback for later): in no lane until then
                assert live.lane is None and live.reserved_for is None
                assert live.overflow_lane is None
            else:
                assert (live.lane is None) != (live.reserved_for is None), "waiting nowhere/twice"
            if live.overflow_lane is not None:
                assert live.lane is not None, "overflowing without waiting in its own queue"
    for ag in eng.agents.values():
        holders: Counter[str] = Counter()
        for channel, held in ag.load.items():
            assert len(held) <= ag.capacity[channel], f"{ag.agent_id} over capacity on {channel}"
            holders.update(held)
        assert all(n == 1 for n in holders.values())
        busy = ag.busy_channels()
        if any(channel in ag.exclusive for channel in busy):
            assert len(busy) == 1, f"{ag.agent_id} mixes an exclusive channel"
        if ag.presence is not Presence.AVAILABLE:
            assert not ag.offers, "offer to an agent who is not available"


def random_step(eng: Engine, rnd: random.Random, now: float, counter: list[int]) -> Any:
    roll = rnd.random()
    agents = list(eng.agents)
    live = list(eng.contacts)
    if roll < 0.30:
        counter[0] += 1
        intent = rnd.choice(INTENTS)
        channel = rnd.choice(list(Channel))
        pref = rnd.choice(agents) if rnd.random() < 0.2 else None
        return eng.add_contact(
            contact(
                f"c{counter[0]}",
                intent,
                channel=channel,
                arrival=now,
                language=rnd.choice(["it", "en"]),
                urgency=rnd.random(),
                preferred=pref,
            ),
            now,
        )
    if roll < 0.45 and eng.offers:
        offer = rnd.choice(list(eng.offers.values()))
        return eng.accept(offer.agent_id, offer.offer_id, now)
    if roll < 0.52 and eng.offers:
        offer = rnd.choice(list(eng.offers.values()))
        return eng.reject(offer.agent_id, offer.offer_id, now)
    if roll < 0.62 and live:
        target = eng.contacts[rnd.choice(live)]
        if target.agent_id:
            return eng.wrap_up(
                target.agent_id, target.contact_id, now, outcome="ok", resolved=rnd.random() < 0.7
            )
        return eng.abandon(target.contact_id, now)
    if roll < 0.68 and live:
        target = eng.contacts[rnd.choice(live)]
        if target.state is ContactState.ASSIGNED:
            choice = rnd.random()
            if choice < 0.4:
                return eng.transfer(
                    target.agent_id or "",
                    target.contact_id,
                    now,
                    queue=rnd.choice(["billing", "cards", "tech", "general"]),
                )
            if choice < 0.7:
                return eng.transfer(
                    target.agent_id or "", target.contact_id, now, to_agent=rnd.choice(agents)
                )
            return eng.end_contact(target.contact_id, now)
        return None
    if roll < 0.78:
        presence = rnd.choice(
            [Presence.AVAILABLE, Presence.AVAILABLE, Presence.AWAY, Presence.OFFLINE]
        )
        return eng.set_presence(rnd.choice(agents), presence, now)
    if roll < 0.80 and live:
        return eng.rescore(rnd.choice(live), rnd.random(), now)
    if roll < 0.84:
        who = rnd.choice(agents)
        return eng.disconnected(who, now) if rnd.random() < 0.5 else eng.connected(who, now)
    if roll < 0.87 and live:
        target = eng.contacts[rnd.choice(live)]
        if target.state is ContactState.QUEUED:  # a callback for later
            return eng.hold(target.contact_id, now + rnd.uniform(0, 120), now)
        return None
    return eng.advance(now)


@pytest.mark.parametrize("seed", range(12))
def test_random_storm_never_double_offers_or_overfills(seed: int) -> None:
    rnd = random.Random(seed)
    eng = engine(queues=OVERFLOWING) if seed % 2 else engine()
    skill_sets = [
        {"billing": 5},
        {"billing": 2, "cards": 4, "empathy": 3},
        {"tech": 5},
        {"cards": 5, "empathy": 5, "billing": 3},
        {"tech": 2, "billing": 4},
    ]
    for i in range(12):
        online(
            eng,
            agent(
                f"a{i}",
                languages=rnd.choice([("it",), ("en",), ("it", "en")]),
                **skill_sets[i % len(skill_sets)],
            ),
        )
    now, counter, offers_made, overflowed = 0.0, [0], 0, 0
    for _ in range(1500):
        now += rnd.expovariate(1 / 4.0)
        try:
            out = random_step(eng, rnd, now, counter)
        except EngineError:
            out = None  # refused requests (e.g. transfer to self) change nothing
        offers_made += len(out.of(Offered)) if out is not None else 0
        if out is not None:
            overflowed += sum(q.reason == "overflow" for q in out.of(Queued))
            overflowed += sum("overflow" in o.explanation for o in out.of(Offered))
        check_invariants(eng)
    assert offers_made > 200  # the storm really exercised routing
    assert (overflowed > 0) == bool(seed % 2)  # and overflow, where configured


def test_matching_cost_does_not_grow_with_unrelated_waiting_contacts() -> None:
    """An agent freeing up, or a contact arriving, touches only what could match."""

    class CountingDict(dict[str, Any]):
        reads = 0

        def __getitem__(self, key: str) -> Any:
            CountingDict.reads += 1
            return super().__getitem__(key)

        def get(self, key: str, default: Any = None) -> Any:
            CountingDict.reads += 1
            return super().get(key, default)

    def reads_for_one_routing(unrelated: int) -> tuple[int, int]:
        eng = engine()
        eng.contacts = CountingDict()
        for i in range(unrelated):  # tech contacts nobody here can serve
            eng.add_contact(contact(f"t{i}", "tech", arrival=float(i % 50)), 50.0)
        for i in range(3):
            eng.add_contact(contact(f"b{i}", "billing", arrival=50.0), 50.0)
        for i in range(unrelated // 10):  # busy-on-other-things agents
            eng.upsert_agent(agent(f"idle-tech{i}", tech=1), 50.0)
        CountingDict.reads = 0
        online(eng, agent("biller", billing=5), 60.0)
        on_free = CountingDict.reads
        CountingDict.reads = 0
        eng.add_contact(contact("new", "billing", arrival=61.0), 61.0)
        return on_free, CountingDict.reads

    small = reads_for_one_routing(10)
    large = reads_for_one_routing(5000)
    assert large == small, f"reads grew with unrelated contacts: {small} -> {large}"
