"""What a returning customer's plan waits for (router/history_waits.py): the mark of the
last unit recorded about the customer's contacts, and the floor for what is not known."""

from __future__ import annotations

from dataclasses import dataclass

from router.customer_changes import ERASED, MERGED, CustomerChange
from router.decisions import Assigned, Completed, PresenceChanged, Queued
from router.history_waits import HistoryWaits
from router.states import Presence


@dataclass
class Live:
    customer_id: str | None


class Recorded:
    """The recorder's mark and the engine's live contacts, as the runtime would have them."""

    def __init__(self) -> None:
        self.mark = 0
        self.contacts: dict[str, Live] = {}

    def waits(self, kept: int = 100) -> HistoryWaits:
        return HistoryWaits(lambda: self.mark, lambda: self.contacts, kept)

    def record(self, waits: HistoryWaits, *decisions: object) -> None:
        self.mark += 1
        waits.observe(0.0, list(decisions))  # type: ignore[arg-type]


def queued(contact_id: str) -> Queued:
    return Queued(contact_id, "support", "arrival", {})


def test_a_plan_waits_for_the_last_unit_about_its_customers_contacts_only() -> None:
    recorded = Recorded()
    waits = recorded.waits()
    recorded.contacts |= {"k1": Live("alice"), "k2": Live("bob")}
    recorded.record(waits, queued("k1"))  # mark 1
    recorded.record(waits, queued("k2"))  # mark 2
    recorded.record(waits, Assigned("k2", "a1", "o1", 1.0))  # mark 3
    assert waits.mark_for("alice") == 1
    assert waits.mark_for("bob") == 3
    assert waits.mark_for("carol") == 0  # nothing recorded about her: no wait


def test_decisions_about_agents_only_move_nothing() -> None:
    recorded = Recorded()
    waits = recorded.waits()
    recorded.record(waits, PresenceChanged("a1", Presence.AVAILABLE, ""))
    assert waits.floor == 0


def test_a_finished_contact_keeps_its_customers_mark_and_its_later_decisions_raise_the_floor() -> (
    None
):
    recorded = Recorded()
    waits = recorded.waits()
    recorded.contacts["k1"] = Live("alice")
    recorded.record(waits, queued("k1"))  # mark 1
    recorded.record(waits, Completed("k1", "a1", "done", True))  # mark 2
    del recorded.contacts["k1"]  # the engine lets a finished contact go
    assert waits.mark_for("alice") == 2
    assert waits.floor == 0
    recorded.record(waits, queued("k1"))  # mark 3: whose customer is not known here now
    assert waits.floor == 3
    assert waits.mark_for("carol") == 3


def test_a_contact_the_engine_does_not_know_makes_every_plan_wait() -> None:
    recorded = Recorded()
    waits = recorded.waits()
    recorded.record(waits, queued("restored"))  # mark 1, not in the engine's contacts
    assert waits.mark_for("anyone") == 1


def test_a_customer_change_makes_every_plan_wait_for_what_came_before_and_after_it() -> None:
    recorded = Recorded()
    waits = recorded.waits()
    recorded.contacts |= {"k1": Live("alice"), "k2": Live("bob")}
    recorded.record(waits, queued("k1"))  # mark 1
    recorded.record(waits, queued("k2"))  # mark 2
    waits.customers_changed(CustomerChange(MERGED, ("alice", "bob")))
    assert waits.mark_for("carol") == 2
    recorded.record(waits, Assigned("k2", "a1", "o1", 1.0))  # mark 3: bob's contact, bob merged
    assert waits.mark_for("carol") == 3
    recorded.contacts["k3"] = Live("dave")
    recorded.record(waits, queued("k3"))  # mark 4: dave changed nothing
    assert waits.floor == 3
    assert waits.mark_for("dave") == 4


def test_an_erased_customers_contacts_are_forgotten() -> None:
    recorded = Recorded()
    waits = recorded.waits()
    recorded.contacts["k1"] = Live("alice")
    recorded.record(waits, queued("k1"))  # mark 1
    waits.customers_changed(CustomerChange(ERASED, ("alice",), ("k1",)))
    del recorded.contacts["k1"]
    recorded.record(waits, queued("k1"))  # mark 2: not known any more
    assert waits.floor == 2


def test_the_customers_kept_are_bounded_and_one_let_go_raises_the_floor() -> None:
    recorded = Recorded()
    waits = recorded.waits(kept=2)
    recorded.contacts |= {"k1": Live("alice"), "k2": Live("bob"), "k3": Live("carol")}
    recorded.record(waits, queued("k1"))  # mark 1
    recorded.record(waits, queued("k2"))  # mark 2
    recorded.record(waits, queued("k1"))  # mark 3: alice the newest again
    recorded.record(waits, queued("k3"))  # mark 4: bob, the oldest, let go
    assert waits.floor == 2
    assert waits.mark_for("bob") == 2
    assert waits.mark_for("alice") == 3
    assert waits.mark_for("carol") == 4
