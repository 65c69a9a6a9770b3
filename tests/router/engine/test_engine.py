"""Engine behaviour on the injected clock: matching, offers, wrap-up, transfers, presence."""

from __future__ import annotations

import pytest

from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    NotAllowed,
    Offered,
    OfferEnded,
    PresenceChanged,
    Queued,
    Rescored,
    Transferred,
    UnknownOffer,
    WrapUpStarted,
)
from router.models import NewContact, RoutePolicy, Step
from router.rules.model import ExpansionStep
from router.states import ContactState, OfferOutcome, Presence
from skills.vocabulary import Channel
from tests.engine_helpers import agent, contact, engine, offer_id_for, offers_to, online


def test_contact_goes_to_a_qualified_available_agent_with_explanation() -> None:
    eng = engine()
    online(eng, agent("tech1", tech=5))
    online(eng, agent("bill1", billing=5))
    out = eng.add_contact(contact("c1", "billing"), 1.0)
    (offer,) = out.of(Offered)
    assert offer.agent_id == "bill1"
    why = offer.explanation
    assert why["rule"] == "billing" and why["queue"] == "billing"
    assert why["step"] == {"index": 0, "requirements": {"billing": 4}, "language": "it"}
    assert why["search"]["candidates"][0]["agent"] == "bill1"
    assert why["priority"]["rule"] == 10


def test_no_agent_means_queued_with_reason() -> None:
    eng = engine()
    online(eng, agent("bill-en", languages=("en",), billing=5))
    out = eng.add_contact(contact("c1", "billing", language="it"), 0.0)
    (queued,) = out.of(Queued)
    assert queued.reason == "arrival"
    assert queued.explanation["search"]["excluded"] == {"language": 1}
    assert eng.contacts["c1"].state is ContactState.QUEUED


def test_freed_agent_takes_highest_priority_contact() -> None:
    eng = engine()
    eng.add_contact(contact("low", "billing", arrival=0.0), 0.0)
    eng.add_contact(contact("vip", "billing", arrival=5.0, urgency=1.0), 5.0)
    online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), now=6.0)
    assert offers_to(eng, "a1") == ["vip"]


def test_wait_ageing_is_a_fraction_of_the_channel_sla() -> None:
    """An email at 4 h (its SLA) outranks a call at 10 s (half its SLA) of equal rule priority."""
    eng = engine()
    now = 4 * 3600.0
    eng.add_contact(contact("mail", "billing", channel=Channel.EMAIL, arrival=0.0), now)
    eng.add_contact(contact("call", "billing", channel=Channel.VOICE, arrival=now - 10), now)
    online(eng, agent("a1", capacity={Channel.EMAIL: 1, Channel.VOICE: 1}, billing=5), now)
    assert offers_to(eng, "a1") == ["mail"]
    # and a call waiting a full 20 s threshold plus a bit beats an email at 0.5 of its SLA
    eng2 = engine()
    eng2.add_contact(contact("mail", "billing", channel=Channel.EMAIL, arrival=0.0), 7200.0)
    eng2.add_contact(contact("call", "billing", channel=Channel.VOICE, arrival=7200.0 - 25), 7200.0)
    online(eng2, agent("a1", capacity={Channel.EMAIL: 1, Channel.VOICE: 1}, billing=5), 7200.0)
    assert offers_to(eng2, "a1") == ["call"]


def test_static_priority_is_capped_so_ageing_always_wins_eventually() -> None:
    eng = engine()
    eng.add_contact(contact("old", "billing", arrival=0.0), 0.0)  # rule priority 10
    # huge urgency+history boost would be 10 + 20 + 500; capped at 100
    late = contact("late", "billing", arrival=600.0, urgency=1.0, history=500.0)
    eng.add_contact(late, 600.0)
    assert eng.contacts["late"].static_priority == 100
    # old has aged 10 points per 60 s: at t=600 it is 10 + 100 = 110 > 100
    online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 600.0)
    assert offers_to(eng, "a1") == ["old"]


def test_capacity_defaults_chat_three_and_voice_exclusive() -> None:
    eng = engine()
    for i in range(4):
        eng.add_contact(contact(f"chat{i}", "billing", arrival=float(i)), float(i))
    online(eng, agent("a1", billing=5), 10.0)
    assert offers_to(eng, "a1") == ["chat0", "chat1", "chat2"]
    eng.add_contact(contact("call", "billing", channel=Channel.VOICE, arrival=11.0), 11.0)
    assert eng.contacts["call"].state is ContactState.QUEUED  # busy on chat: voice exclusive

    eng2 = engine()
    online(eng2, agent("a2", billing=5), 0.0)
    eng2.add_contact(contact("call", "billing", channel=Channel.VOICE), 0.0)
    eng2.add_contact(contact("chat", "billing", arrival=1.0), 1.0)
    assert offers_to(eng2, "a2") == ["call"]
    assert eng2.contacts["chat"].state is ContactState.QUEUED


def test_bullseye_expands_after_waiting() -> None:
    eng = engine()
    online(eng, agent("junior", billing=2))
    out = eng.add_contact(contact("c1", "billing"), 0.0)
    assert out.of(Queued)[0].explanation["search"]["excluded"] == {"proficiency below this step": 1}
    assert eng.advance(29.9).items == []
    out = eng.advance(30.0)
    (offer,) = out.of(Offered)
    assert offer.agent_id == "junior"
    assert offer.explanation["trigger"] == "expansion"
    assert offer.explanation["step"]["index"] == 1


def test_narrowest_ring_first_then_longest_idle() -> None:
    eng = engine()
    online(eng, agent("junior", billing=2), 0.0)
    online(eng, agent("expert-recent", billing=5), 50.0)
    online(eng, agent("expert-idle", billing=4), 10.0)
    # waited 40 s: ring 1 admits all three; ring 0 (>= 4) is narrower
    out = eng.add_contact(contact("c1", "billing", arrival=60.0 - 40), 60.0)
    assert out.of(Offered)[0].agent_id == "expert-idle"
    ranking = [c["agent"] for c in out.of(Offered)[0].explanation["search"]["candidates"]]
    assert ranking == ["expert-idle", "expert-recent", "junior"]


def test_preferred_agent_first_then_fallback_after_its_wait() -> None:
    eng = engine()
    online(eng, agent("usual", cards=3, empathy=3, tech=5), 0.0)
    eng.add_contact(contact("call", "tech", channel=Channel.VOICE), 0.0)
    eng.accept("usual", offer_id_for(eng, "call"), 0.5)  # busy on a call
    online(eng, agent("other", cards=5, empathy=5), 0.0)
    out = eng.add_contact(contact("c1", "lost_card", preferred="usual", arrival=1.0), 1.0)
    (queued,) = out.of(Queued)
    assert queued.explanation["preferred"]["agent"] == "usual"
    assert "waiting for it" in queued.explanation["preferred"]["result"]
    assert eng.contacts["c1"].reserved_for == "usual"
    # "other" is free but the contact waits for "usual" up to 30 s
    assert offers_to(eng, "other") == []
    out = eng.advance(31.0)
    assert [o.agent_id for o in out.of(Offered) if o.contact_id == "c1"] == ["other"]


def test_preferred_agent_gets_contact_when_freed_within_wait() -> None:
    eng = engine()
    online(eng, agent("usual", capacity={Channel.CHAT: 1}, cards=3, empathy=3, billing=5), 0.0)
    online(eng, agent("other", cards=5, empathy=5), 0.0)
    eng.add_contact(contact("first", "billing"), 0.0)
    eng.accept("usual", offer_id_for(eng, "first"), 1.0)
    eng.add_contact(contact("c1", "lost_card", preferred="usual", arrival=2.0), 2.0)
    out = eng.wrap_up("usual", "first", 10.0, outcome="done", resolved=True)
    offer = next(o for o in out.of(Offered) if o.contact_id == "c1")
    assert offer.agent_id == "usual"
    assert offer.explanation["preferred"] == {"agent": "usual", "result": "offered"}


def test_logged_out_preferred_agent_is_not_waited_for() -> None:
    eng = engine()
    eng.upsert_agent(agent("usual", cards=5, empathy=5), 0.0)  # on the roster, offline
    online(eng, agent("other", cards=5, empathy=5), 0.0)
    out = eng.add_contact(contact("c1", "lost_card", preferred="usual"), 1.0)
    (offer,) = out.of(Offered)
    assert offer.agent_id == "other"
    assert offer.explanation["preferred"] == {"agent": "usual", "result": "offline"}


def test_offer_timeout_reroutes_and_not_ready_after_two_misses() -> None:
    eng = engine()
    online(eng, agent("sleepy", billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)
    online(eng, agent("awake", billing=4), 1.0)
    assert offers_to(eng, "sleepy") == ["c1"]
    out = eng.advance(30.0)  # chat offer timeout 30 s
    (ended,) = out.of(OfferEnded)
    assert ended.outcome is OfferOutcome.MISSED and ended.agent_id == "sleepy"
    assert out.of(Offered)[0].agent_id == "awake"
    assert eng.agents["sleepy"].presence is Presence.AVAILABLE
    eng.add_contact(contact("c2", "billing", arrival=31.0), 31.0)
    assert offers_to(eng, "sleepy") == ["c2"]
    out = eng.advance(61.0)
    assert out.of(PresenceChanged)[0].presence is Presence.AWAY
    assert "missed 2 offers" in out.of(PresenceChanged)[0].reason
    assert eng.agents["sleepy"].presence is Presence.AWAY


def test_reject_is_distinct_from_missed_and_goes_to_someone_else() -> None:
    eng = engine()
    online(eng, agent("a1", billing=5), 0.0)
    online(eng, agent("a2", billing=5), 5.0)
    eng.add_contact(contact("c1", "billing"), 10.0)
    assert offers_to(eng, "a1") == ["c1"]  # idle longer
    out = eng.reject("a1", offer_id_for(eng, "c1"), 11.0, "wrong department")
    assert out.of(OfferEnded)[0].outcome is OfferOutcome.REJECTED
    assert out.of(OfferEnded)[0].reason == "wrong department"
    assert out.of(Offered)[0].agent_id == "a2"
    assert eng.agents["a1"].consecutive_misses == 0


def test_rejected_contact_is_not_offered_back_to_the_same_agent_until_retry_delay() -> None:
    eng = engine()
    online(eng, agent("only", billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)
    eng.reject("only", offer_id_for(eng, "c1"), 1.0)
    assert eng.contacts["c1"].state is ContactState.QUEUED
    assert eng.advance(300.0).of(Offered) == []
    out = eng.advance(301.0)  # retry_same_agent_after 5 m from t=1
    assert out.of(Offered)[0].agent_id == "only"


def test_accept_then_wrap_up_with_outcome() -> None:
    eng = engine()
    online(eng, agent("a1", billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)
    out = eng.accept("a1", offer_id_for(eng, "c1"), 3.0)
    assert out.of(Assigned)[0].waited == 3.0
    out = eng.end_contact("c1", 100.0, ended_by="customer")
    assert out.of(WrapUpStarted)[0].until == 115.0
    out = eng.wrap_up("a1", "c1", 105.0, outcome="refund issued", resolved=True)
    (done,) = out.of(Completed)
    assert (done.outcome, done.resolved) == ("refund issued", True)
    assert "c1" not in eng.contacts
    assert eng.agents["a1"].used(Channel.CHAT) == 0


def test_voice_wrap_up_blocks_agent_until_done_or_timer() -> None:
    eng = engine()
    online(eng, agent("a1", billing=5), 0.0)
    eng.add_contact(contact("call", "billing", channel=Channel.VOICE), 0.0)
    eng.accept("a1", offer_id_for(eng, "call"), 1.0)
    out = eng.end_contact("call", 60.0)
    assert out.of(PresenceChanged)[0].presence is Presence.WRAP_UP
    eng.add_contact(contact("chat", "billing", arrival=61.0), 61.0)
    assert offers_to(eng, "a1") == []
    out = eng.advance(90.0)  # voice wrap-up limit 30 s
    assert out.of(Completed)[0].outcome == "wrap_up_timeout"
    assert out.of(PresenceChanged)[0].presence is Presence.AVAILABLE
    assert offers_to(eng, "a1") == ["chat"]


def test_abandon_removes_from_queue_and_revokes_offer() -> None:
    eng = engine()
    eng.add_contact(contact("c1", "billing"), 0.0)
    out = eng.abandon("c1", 12.0)
    assert out.of(Abandoned)[0].waited == 12.0
    online(eng, agent("a1", billing=5), 13.0)
    assert offers_to(eng, "a1") == []
    eng.add_contact(contact("c2", "billing", arrival=14.0), 14.0)
    out = eng.abandon("c2", 15.0)
    assert out.of(OfferEnded)[0].outcome is OfferOutcome.REVOKED
    assert eng.agents["a1"].used(Channel.CHAT) == 0


def test_transfer_keeps_arrival_excludes_sender_and_counts_a_bounce() -> None:
    eng = engine()
    online(eng, agent("bill", billing=5, cards=5), 0.0)
    eng.add_contact(contact("c1", "billing", arrival=0.0), 0.0)
    eng.accept("bill", offer_id_for(eng, "c1"), 1.0)
    before = eng.contacts["c1"].static_priority
    out = eng.transfer("bill", "c1", 50.0, queue="cards")
    (moved,) = out.of(Transferred)
    assert moved.target == {"queue": "cards"} and moved.transfers == 1
    live = eng.contacts["c1"]
    assert live.arrival == 0.0
    assert live.static_priority == before + 10  # per_transfer boost
    assert live.state is ContactState.QUEUED  # the sender has cards 5 but is excluded
    online(eng, agent("card", cards=4), 51.0)
    assert offers_to(eng, "card") == ["c1"]


def test_transfer_to_agent_waits_for_that_agent() -> None:
    eng = engine()
    online(eng, agent("a1", billing=5), 0.0)
    online(eng, agent("a2", billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 1.0)
    sender = eng.contacts["c1"].offer_id and eng.offers[offer_id_for(eng, "c1")].agent_id
    target = "a2" if sender == "a1" else "a1"
    eng.accept(sender, offer_id_for(eng, "c1"), 2.0)
    out = eng.transfer(sender, "c1", 3.0, to_agent=target)
    assert out.of(Offered)[0].agent_id == target
    with pytest.raises(NotAllowed):
        eng.transfer(target, "c1", 4.0, to_agent=target)


def test_logout_requeues_work_and_disconnect_grace_logs_out() -> None:
    eng = engine()
    online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)
    eng.accept("a1", offer_id_for(eng, "c1"), 1.0)
    eng.add_contact(contact("c2", "billing"), 2.0)  # waits: a1 is full
    eng.disconnected("a1", 3.0)
    assert eng.advance(62.9).of(PresenceChanged) == []
    eng.connected("a1", 50.0)  # came back within grace: nothing happens at 63
    assert eng.advance(63.0).of(PresenceChanged) == []
    eng.disconnected("a1", 70.0)
    out = eng.advance(130.0)
    assert out.of(PresenceChanged)[0].presence is Presence.OFFLINE
    assert [q.contact_id for q in out.of(Queued)] == ["c1"]
    assert eng.contacts["c1"].state is ContactState.QUEUED
    assert eng.contacts["c1"].arrival == 0.0


def test_an_agent_cannot_act_on_another_agents_offer() -> None:
    eng = engine()
    online(eng, agent("a1", billing=5), 0.0)
    online(eng, agent("a2", tech=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)
    with pytest.raises(UnknownOffer):
        eng.accept("a2", offer_id_for(eng, "c1"), 1.0)
    with pytest.raises(UnknownOffer):
        eng.reject("a2", offer_id_for(eng, "c1"), 1.0)


def test_restart_restores_queue_with_original_arrival() -> None:
    eng = engine()
    eng.add_contact(contact("c1", "billing", arrival=0.0), 0.0)
    eng.add_contact(contact("c2", "billing", arrival=100.0, urgency=0.5), 100.0)
    saved = [
        (contact("c1", "billing", arrival=0.0), eng.contacts["c1"].state),
        (contact("c2", "billing", arrival=100.0, urgency=0.5), eng.contacts["c2"].state),
    ]
    fresh = engine()
    for new, state in saved:
        out = fresh.restore_contact(new, state, None, 500.0)
        assert out.of(Queued)[0].reason == "restored"
    assert fresh.contacts["c1"].arrival == 0.0
    # c1 has aged 500 s (83 points), c2 400 s + 10 urgency: c1 first
    online(fresh, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 500.0)
    assert offers_to(fresh, "a1") == ["c1"]


def test_restored_assignment_is_handed_back_if_agent_never_returns() -> None:
    eng = engine()
    eng.upsert_agent(agent("a1", billing=5), 0.0)
    eng.restore_contact(contact("c1", "billing"), ContactState.ASSIGNED, "a1", 10.0)
    assert eng.contacts["c1"].agent_id == "a1"
    out = eng.advance(70.0)
    assert [q.contact_id for q in out.of(Queued)] == ["c1"]


def test_rescoring_a_waiting_contact_moves_it_up_its_lane() -> None:
    eng = engine()
    eng.add_contact(contact("calm-early", "billing", arrival=0.0), 0.0)
    eng.add_contact(contact("later", "billing", arrival=10.0), 10.0)
    out = eng.rescore("later", 0.9, 20.0)  # the customer wrote again, furious
    (rescored,) = out.of(Rescored)
    assert rescored.urgency == 0.9 and rescored.static_priority == 10 + 18
    assert eng.rescore("later", 0.9, 21.0).items == []  # unchanged: nothing to do
    online(eng, agent("a1", capacity={Channel.CHAT: 1}, billing=5), 30.0)
    assert offers_to(eng, "a1") == ["later"]
    assert eng.rescore("later", 0.1, 31.0).of(Rescored)[0].agent_id == "a1"


def test_step_timer_at_a_fractional_arrival_time_moves_the_contact_on() -> None:
    """(arrival + 30) - arrival can round below 30: the step must still start then."""
    eng = engine()
    online(eng, agent("junior", billing=2), 0.0)
    arrival = 0.1  # 30.1 - 0.1 == 29.999999999999996
    eng.add_contact(contact("c1", "billing", arrival=arrival), arrival)
    fired = 0
    while (deadline := eng.next_deadline()) is not None and deadline <= arrival + 30:
        out = eng.advance(deadline)
        fired += 1
        assert fired < 10, "a step timer keeps firing without moving the contact on"
    assert out.of(Offered)[0].agent_id == "junior"


def test_step_timers_of_an_old_policy_are_harmless_after_a_transfer() -> None:
    three_steps = (
        {"after": 0, "min_proficiency": 5},
        {"after": 30, "min_proficiency": 4},
        {"after": 60, "min_proficiency": 3},
    )
    eng = engine(expansion=tuple(ExpansionStep(**step) for step in three_steps))
    one_step = eng.config.queues["cards"].model_copy(
        update={"expansion": (ExpansionStep(after=0, min_proficiency=2),)}
    )
    eng.config = eng.config.model_copy(update={"queues": {**eng.config.queues, "cards": one_step}})
    online(eng, agent("bill", billing=5), 0.0)
    eng.add_contact(contact("c1", "billing"), 0.0)  # timers set for steps 1 and 2
    eng.accept("bill", offer_id_for(eng, "c1"), 1.0)
    eng.transfer("bill", "c1", 2.0, queue="cards")  # cards has a single step
    eng.advance(31.0)
    eng.advance(61.0)  # the old step-2 timer fires: nothing breaks, nothing expands
    assert eng.contacts["c1"].step == 0
    online(eng, agent("card", cards=2), 62.0)
    assert offers_to(eng, "card") == ["c1"]


def test_agent_choice_longest_idle_ignores_rings_and_round_robin_rotates() -> None:
    idle = engine(agent_choice="longest_idle")
    online(idle, agent("junior-idle", billing=4), 0.0)
    online(idle, agent("expert", billing=5), 10.0)
    assert idle.add_contact(contact("c1", "billing"), 20.0).of(Offered)[0].agent_id == "junior-idle"
    rotation = engine(agent_choice="round_robin")
    for name in ("a", "b", "c"):
        online(rotation, agent(name, billing=5), 0.0)
    chosen = []
    for i in range(6):
        out = rotation.add_contact(contact(f"r{i}", "billing", arrival=float(i + 1)), i + 1.0)
        offer = out.of(Offered)[0]
        chosen.append(offer.agent_id)
        rotation.accept(offer.agent_id, offer.offer_id, i + 1.0)
    assert chosen == ["a", "b", "c", "a", "b", "c"]
    assert (
        out.of(Offered)[0].explanation["search"]["ranking"] == "offered longest ago (round robin)"
    )


def test_expansion_steps_as_a_share_of_the_sla() -> None:
    relative = RoutePolicy(
        "billing",
        "billing",
        10.0,
        (("billing", 1),),
        True,
        (Step(0, 4), Step(0, 2, share=0.25)),
        0.0,
    )
    eng = engine()
    online(eng, agent("junior", capacity={Channel.EMAIL: 1, Channel.VOICE: 1}, billing=2), 0.0)
    for name, channel in (("call", Channel.VOICE), ("mail", Channel.EMAIL)):
        eng.add_contact(NewContact(name, channel, 0.0, relative, language="it"), 0.0)
    assert eng.next_deadline() == 5.0  # 25% of the 20 s voice SLA
    out = eng.advance(5.0)
    assert out.of(Offered)[0].contact_id == "call"
    eng.accept("junior", offer_id_for(eng, "call"), 5.0)
    eng.wrap_up("junior", "call", 6.0, outcome="ok", resolved=True)
    assert eng.contacts["mail"].state is ContactState.QUEUED  # 25% of 4 h is 1 h
    assert eng.advance(3599.0).of(Offered) == []
    assert eng.advance(3600.0).of(Offered)[0].contact_id == "mail"
