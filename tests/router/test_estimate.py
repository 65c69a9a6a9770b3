"""The wait estimate from live state: position, agents who could serve, recent handle
times; engine on the injected clock (no sleeps)."""

from __future__ import annotations

from router.decisions import Decisions
from router.engine import Engine
from router.estimate import DEFAULT_HANDLE, LONG_QUEUE, MANY_AGENTS, SNAPSHOT_AGE, WaitEstimator
from router.explain import current_priority
from router.states import ContactState, Presence
from skills.vocabulary import Channel
from tests.engine_helpers import agent, contact, engine, offer_id_for, online


def run(est: WaitEstimator, eng: Engine, now: float, decisions: Decisions) -> Decisions:
    est.observe(now, decisions, eng)
    return decisions


def waiting_behind_one_agent(count: int) -> tuple[Engine, WaitEstimator]:
    """One agent of capacity 1, then ``count`` chats c0.. arriving 10 ms apart: the agent
    takes c0, the others wait."""
    eng = engine()
    online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 0.0)
    for n in range(count):
        eng.add_contact(contact(f"c{n}", arrival=float(n) / 100), float(n) / 100)
    return eng, WaitEstimator()


def test_nobody_to_serve_gives_no_estimate_then_agents_and_position_count() -> None:
    eng, est = engine(), WaitEstimator()
    run(est, eng, 0.0, eng.add_contact(contact("c1", channel=Channel.VOICE), 0.0))
    live = eng.contacts["c1"]
    assert est.for_contact(eng, live, 0.0).seconds is None  # nobody logged in
    profile = agent("a1", capacity={Channel.VOICE: 1}, billing=5)
    run(est, eng, 1.0, eng.upsert_agent(profile, 1.0))
    run(est, eng, 1.0, eng.connected("a1", 1.0))
    run(est, eng, 1.0, eng.set_presence("a1", Presence.AWAY, 1.0))
    assert est.for_contact(eng, live, 1.0).seconds is None  # on a break: not serving
    run(est, eng, 2.0, eng.set_presence("a1", Presence.AVAILABLE, 2.0))  # offered c1 at once
    assert est.for_contact(eng, eng.contacts["c1"], 2.0).seconds == 0.0
    run(est, eng, 3.0, eng.accept("a1", offer_id_for(eng, "c1"), 3.0))
    for n, at in ((2, 4.0), (3, 5.0)):
        run(est, eng, at, eng.add_contact(contact(f"c{n}", channel=Channel.VOICE, arrival=at), at))
    second = est.for_contact(eng, eng.contacts["c2"], 5.0)
    assert second.ahead == 0 and second.slots == 1 and second.free == 0
    assert second.seconds == DEFAULT_HANDLE[Channel.VOICE]  # no handle time measured yet
    third = est.for_contact(eng, eng.contacts["c3"], 5.0)
    assert third.ahead == 1 and third.seconds == 2 * DEFAULT_HANDLE[Channel.VOICE]
    # c1 handled for 120 s (accepted at 3, completed at 123): the estimate follows it
    run(est, eng, 123.0, eng.wrap_up("a1", "c1", 123.0, outcome="ok", resolved=True))
    assert est.handle_time("billing", Channel.VOICE) == 120.0
    assert est.for_queue(eng, "billing", Channel.VOICE).ahead == 1  # c2 offered, c3 waits


def test_more_agents_shorten_the_wait_and_free_slots_make_it_zero() -> None:
    eng, est = engine(), WaitEstimator()
    est.record("billing", Channel.CHAT, 300.0)
    for n in range(6):
        eng.add_contact(contact(f"c{n}", arrival=float(n)), float(n))
    last = eng.contacts["c5"]
    assert est.for_contact(eng, last, 10.0).seconds is None
    online(eng, agent("a1", capacity={Channel.CHAT: 3}, billing=5), 10.0)  # takes 3
    estimate = est.for_contact(eng, last, 10.0)
    assert estimate.ahead == 2 and estimate.slots == 3 and estimate.free == 0
    assert estimate.seconds == 3 * 300.0 / 3
    online(eng, agent("a2", capacity={Channel.CHAT: 3}, billing=5), 10.0)  # takes the rest
    assert est.for_contact(eng, last, 10.0).seconds == 0.0
    assert est.for_queue(eng, "billing", Channel.CHAT).seconds == 300.0 / 6  # all 6 busy


def test_in_a_long_queue_who_is_ahead_comes_from_a_snapshot_and_matches_the_count() -> None:
    """Past LONG_QUEUE waiting, an arrival's position is a bisection on a snapshot of the
    queue's priorities (at most SNAPSHOT_AGE old), not a walk through every one of them."""
    count = LONG_QUEUE + 100
    eng, est = waiting_behind_one_agent(count)
    now = count / 100
    middle = eng.contacts[f"c{count // 2}"]
    exact = sum(
        1
        for other in eng.contacts.values()
        if other.state is ContactState.QUEUED
        and current_priority(other, eng.rate("billing", Channel.CHAT), now)
        > current_priority(middle, eng.rate("billing", Channel.CHAT), now)
    )
    assert est.for_contact(eng, middle, now).ahead == exact == count // 2 - 1
    # a contact arriving within the snapshot's age is placed behind those waiting
    eng.add_contact(contact("late", arrival=now + 0.5), now + 0.5)
    assert est.for_contact(eng, eng.contacts["late"], now + 0.5).ahead == count - 1


def test_with_many_agents_their_slots_are_counted_at_most_a_second_ago() -> None:
    """Past MANY_AGENTS skill holders, slots come from a count at most SNAPSHOT_AGE old
    (per channel and skill floors): exact when counted, and counted again once older."""
    eng, est = engine(), WaitEstimator()
    agents = MANY_AGENTS + 50
    for n in range(agents):
        online(eng, agent(f"a{n}", capacity={Channel.CHAT: 1}, billing=5), 0.0)
    for n in range(agents + 1):  # every agent busy, one contact waits
        eng.add_contact(contact(f"c{n}"), 0.0)
    waiting = eng.contacts[f"c{agents}"]
    first = est.for_contact(eng, waiting, 1.0)
    assert (first.slots, first.free) == (agents, 0)
    for n in range(10):
        eng.set_presence(f"a{n}", Presence.AWAY, 1.2)
    assert est.for_contact(eng, waiting, 1.2 + SNAPSHOT_AGE / 2).slots == agents  # not yet
    assert est.for_contact(eng, waiting, 1.0 + SNAPSHOT_AGE * 2).slots == agents - 10


def test_contacts_of_equal_priority_are_not_ahead_of_each_other_in_short_and_long_queues() -> None:
    """Equal priorities compare equal: the others' are computed from their lane entries and
    the contact's own the same way, so rounding never puts a twin ahead."""
    for count in (5, LONG_QUEUE + 5):
        eng, est = engine(), WaitEstimator()
        online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 0.0)  # busy with t0
        for n in range(count):
            eng.add_contact(contact(f"t{n}", arrival=0.3), 0.3)
        for now in (0.7, 7.7, 123.4):
            estimate = est.for_contact(eng, eng.contacts[f"t{count - 1}"], now)
            assert estimate.ahead == 0, (count, now)


def test_arrivals_after_a_long_queues_snapshot_count_one_another() -> None:
    """A burst within the snapshot's second: each arrival is placed behind those before it
    (they are added to the snapshot as they are estimated), and asking again for the same
    contact does not add it twice."""
    count = LONG_QUEUE + 20
    eng, est = waiting_behind_one_agent(count)
    now = count / 100
    assert est.for_contact(eng, eng.contacts[f"c{count - 1}"], now).ahead == count - 2
    for k in range(3):
        at = now + 0.1 * (k + 1)
        eng.add_contact(contact(f"new{k}", arrival=at), at)
        assert est.for_contact(eng, eng.contacts[f"new{k}"], at).ahead == count - 1 + k
        assert est.for_contact(eng, eng.contacts[f"new{k}"], at).ahead == count - 1 + k


def test_up_to_long_queue_the_count_is_exact_at_once() -> None:
    """A short queue is counted afresh for every estimate: one answered is one less ahead
    at once, not a second later."""
    eng, est = waiting_behind_one_agent(LONG_QUEUE)
    last = eng.contacts[f"c{LONG_QUEUE - 1}"]
    assert est.for_contact(eng, last, 1.0).ahead == LONG_QUEUE - 2
    eng.end_contact("c1", 1.1, "customer")  # one ahead of it abandons
    assert est.for_contact(eng, last, 1.1).ahead == LONG_QUEUE - 3
