"""What a returning customer's plan waits for before it trusts the history it read.

A contact's plan reads its customer's history from the database (router/intake.py), and
that history must hold every decision made so far about the contacts it shows
(read-your-writes: the agent who has the customer's open case, whether it ended
unresolved). Decisions are recorded without waiting (router/recorder.py). The plan used
to wait, before it read, for everything recorded so far, whoever it was about: each
returning customer's contact waited for a commit of the decisions' lane, hurried (a
small batch, its round trips each a turn of the busy loop; docs/hot-path-history.md,
the thirty-fourth session, has what it cost).

Here each contact has the mark (``Recorder.mark``) of the last unit recorded about it, and
the plan reads first, then waits only if a contact the history shows has a unit not
written yet, and reads again: a customer whose contacts are all written (someone writing
again after their chat ended, say) waits for nothing. Keyed by the contacts read, not by
the customer: a merge that brought another customer's contacts into this history (on
another node, its notice still on its way) is covered as well. The marks come from the
decisions themselves (a runtime listener runs after the recorder took them). A contact no
decision was recorded about here needs no wait (the old way did not wait for other
routers' decisions either); the marks kept are bounded, and the mark of one let go
raises ``floor``, which a contact not found here then waits for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from router.decisions import Decisions

KEPT_CONTACTS = 200_000


class HistoryWaits:
    def __init__(self, mark: Callable[[], int], kept: int = KEPT_CONTACTS) -> None:
        self._mark = mark  # the recorder's mark now (that of the unit recorded last)
        self._kept = kept
        self._marks: dict[str, int] = {}  # a contact -> the last unit recorded about it
        self.floor = 0  # the newest mark let go: a contact not found here waits for it

    def mark_for(self, contact_ids: Iterable[str]) -> int:
        """The recorder's mark a history showing these contacts must wait for."""
        marks, floor = self._marks, self.floor
        return max((marks.get(contact_id, floor) for contact_id in contact_ids), default=0)

    def observe(self, now: float, decisions: Decisions) -> None:
        """A runtime listener: the recorder has just taken ``decisions`` (so its mark
        is theirs, or an earlier one if they wrote nothing)."""
        mark = self._mark()
        marks = self._marks
        for decision in decisions:
            contact_id: str | None = getattr(decision, "contact_id", None)
            if contact_id is not None:  # (None: about an agent only)
                marks.pop(contact_id, None)  # re-inserted last: the newest are kept
                marks[contact_id] = mark
        while len(marks) > self._kept:
            self.floor = max(self.floor, marks.pop(next(iter(marks))))
