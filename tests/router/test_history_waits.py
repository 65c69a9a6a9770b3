"""What a history read waits for (router/history_waits.py): the mark of the last unit
recorded about each contact it shows, and the floor for a contact let go."""

from __future__ import annotations

from router.decisions import Assigned, Completed, PresenceChanged, Queued
from router.history_waits import HistoryWaits
from router.states import Presence


class Recorded:
    """The recorder's mark, as the runtime's listener sees it."""

    def __init__(self, kept: int = 100) -> None:
        self.mark = 0
        self.waits = HistoryWaits(lambda: self.mark, kept)

    def record(self, *decisions: object) -> None:
        self.mark += 1
        self.waits.observe(0.0, list(decisions))  # type: ignore[arg-type]


def queued(contact_id: str) -> Queued:
    return Queued(contact_id, "support", "arrival", {})


def test_a_history_waits_for_the_last_unit_about_the_contacts_it_shows_only() -> None:
    recorded = Recorded()
    recorded.record(queued("k1"))  # mark 1
    recorded.record(queued("k2"))  # mark 2
    recorded.record(Assigned("k2", "a1", "o1", 1.0))  # mark 3
    recorded.record(queued("k3"))  # mark 4
    assert recorded.waits.mark_for(["k1"]) == 1
    assert recorded.waits.mark_for(["k1", "k2"]) == 3
    assert recorded.waits.mark_for(["elsewhere"]) == 0  # nothing recorded about it here
    assert recorded.waits.mark_for([]) == 0  # a history of no contacts waits for nothing


def test_a_finished_contact_keeps_its_mark() -> None:
    recorded = Recorded()
    recorded.record(queued("k1"))  # mark 1
    recorded.record(Completed("k1", "a1", "done", True))  # mark 2, perhaps not written yet
    assert recorded.waits.mark_for(["k1"]) == 2


def test_decisions_about_agents_only_mark_nothing() -> None:
    recorded = Recorded()
    recorded.record(PresenceChanged("a1", Presence.AVAILABLE))
    assert recorded.waits.mark_for(["a1"]) == 0


def test_the_contacts_kept_are_bounded_and_one_let_go_raises_the_floor() -> None:
    recorded = Recorded(kept=2)
    recorded.record(queued("k1"))  # mark 1
    recorded.record(queued("k2"))  # mark 2
    recorded.record(Assigned("k1", "a1", "o1", 1.0))  # mark 3: k1 the newest again
    recorded.record(queued("k3"))  # mark 4: k2, the oldest, let go
    assert recorded.waits.floor == 2
    assert recorded.waits.mark_for(["k2"]) == 2  # not found: the floor
    assert recorded.waits.mark_for(["elsewhere"]) == 2
    assert recorded.waits.mark_for(["k1"]) == 3
    assert recorded.waits.mark_for(["k3"]) == 4
