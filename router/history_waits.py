"""What a returning customer's plan waits for before it reads the customer's history.

A contact's plan reads its customer's history from the database (router/intake.py), and
that history must hold every decision made so far about the customer's other contacts
(read-your-writes: the agent who has their open case, whether it ended unresolved).
Decisions are recorded without waiting (router/recorder.py), so the plan waits until
the recorder has written what it must see. It used to wait for everything recorded so
far, whoever it was about: each returning customer's contact waited for a commit of the
decisions' lane, hurried (a small batch, its round trips each a turn of the busy loop;
docs/hot-path-history.md, the thirty-fourth session, has what it cost).

Here each customer has the mark (``Recorder.mark``) of the last unit recorded about one
of their contacts, and a plan waits for that mark only: a customer whose last decision is
committed (someone writing again after their chat ended, say) waits for nothing. The
marks come from the decisions themselves (a runtime listener runs after the recorder took
them), so nothing is trusted that the database does not hold once the wait is over.

Where a decision's contact is not known here (restored at start, its customer unknown), or
a customer changed (merged, unmerged, erased: contacts may have moved between customers),
``floor`` rises to the mark of the moment, and every plan waits for it too: the old way,
for the rare case; so does every later decision about a contact of a changed customer.
The customers' marks are bounded; one dropped raises the floor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from router.customer_changes import CustomerChange
from router.decisions import Abandoned, Completed, Decisions

KEPT_CUSTOMERS = 100_000


class CustomerOf(Protocol):
    customer_id: str | None


class HistoryWaits:
    def __init__(
        self,
        mark: Callable[[], int],
        contacts: Callable[[], Mapping[str, CustomerOf]],
        kept: int = KEPT_CUSTOMERS,
    ) -> None:
        self._mark = mark  # the recorder's mark now (that of the unit recorded last)
        self._contacts = contacts  # the engine's live contacts now (it may be rebuilt)
        self._kept = kept
        self._customer_of: dict[str, str] = {}  # a live contact -> its customer ("": none)
        self._marks: dict[str, int] = {}  # a customer -> the last unit about their contacts
        self._changed: set[str] = set()  # customers merged, unmerged or erased
        self.floor = 0  # every plan waits for this mark

    def mark_for(self, customer_id: str) -> int:
        """The recorder's mark a plan for this customer waits for."""
        return max(self.floor, self._marks.get(customer_id, 0))

    def observe(self, now: float, decisions: Decisions) -> None:
        """A runtime listener: the recorder has just taken ``decisions`` (so its mark
        is theirs, or an earlier one if they wrote nothing)."""
        mark = self._mark()
        for decision in decisions:
            contact_id: str | None = getattr(decision, "contact_id", None)
            if contact_id is None:  # about an agent only
                continue
            customer = self._customer_of.get(contact_id)
            if customer is None:
                contact = self._contacts().get(contact_id)
                if contact is None:  # whose customer is not known here
                    self.floor = mark
                    continue
                customer = self._customer_of[contact_id] = contact.customer_id or ""
            if customer in self._changed:  # its contacts may show in another's history
                self.floor = mark
            elif customer:
                self._marks.pop(customer, None)  # re-inserted last: the newest are kept
                self._marks[customer] = mark
            if isinstance(decision, Completed | Abandoned):
                del self._customer_of[contact_id]
        while len(self._marks) > self._kept:
            oldest = next(iter(self._marks))
            self.floor = max(self.floor, self._marks.pop(oldest))

    def customers_changed(self, change: CustomerChange) -> None:
        """A customer-changes listener: whatever was recorded before the change, every
        plan waits for it (the change may have moved contacts between customers)."""
        self.floor = self._mark()
        if len(self._changed) >= self._kept:  # what was recorded before is in the floor
            self._changed.clear()
        self._changed.update(change.customer_ids)
        for contact_id in change.contact_ids:
            self._customer_of.pop(contact_id, None)

    def reloaded(self) -> None:
        """The engine was rebuilt from the record: its contacts' customers are read
        again as their decisions come."""
        self._customer_of.clear()
