"""Callbacks: a waiting customer (a caller, or a chat or social customer) asks to be called
back, now or at a time they choose, instead of holding on.

They keep their place: the contact stays in the engine with its arrival (a later time is a
hold, router/engine/holds.py). At their turn the agent's offer carries ``callback`` (the
number to call), so the agent calls them. The customer hanging up no longer abandons it.
An agent who could not reach them wraps up with the ``no_answer`` outcome: the contact is
queued again after ``callbacks.retry_after`` (keeping its arrival) up to
``callbacks.max_attempts`` calls. Each request and retry is an event in the contact's
explain log, from which a restarted (or newly elected) router takes them back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from dataclasses import dataclass, replace
from typing import Any

from router.decisions import Abandoned, Completed, Decisions
from router.models import Contact, NewContact
from router.runtime import RouterRuntime
from router.states import ContactState
from router.store.change_batch import changes_work
from router.store.changes import EventInsert

log = logging.getLogger("centralino.callbacks")


EVENT_KINDS = ("callback_requested", "callback_retry")
_NUMBER = re.compile(r"\+?[0-9 ()./-]{5,40}")


def check_number(value: str | None) -> str | None:
    """A phone number as a person writes it (digits, spaces, + ( ) . / -), or None."""
    if value is not None and not _NUMBER.fullmatch(value):
        raise ValueError("not a phone number")
    return value


def check_zone(value: dt.datetime | None) -> dt.datetime | None:
    """A callback time must say its zone (a bare 09:30 is whose 09:30?)."""
    if value is not None and value.tzinfo is None:
        raise ValueError("give the time with its zone, e.g. 2026-03-30T09:30:00+02:00")
    return value


class CallbackRefused(Exception):
    """The request cannot be taken (the contact is not waiting, the time is out of range)."""


@dataclass(frozen=True, slots=True)
class Callback:
    number: str | None
    at: float | None  # None: as soon as it is their turn
    requested_at: float
    attempts: int = 0  # calls made that nobody answered
    contact: NewContact | None = None  # to queue it again after an unanswered call
    context: dict[str, Any] | None = None  # what the agent's offer shows

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "at": self.at,
            "requested_at": self.requested_at,
            "attempts": self.attempts,
        }


def _again(contact: Contact) -> NewContact:
    return NewContact(
        contact_id=contact.contact_id,
        channel=contact.channel,
        arrival=contact.arrival,
        policy=contact.policy,
        customer_id=contact.customer_id,
        language=contact.language,
        urgency=contact.urgency,
        history_boost=contact.history_boost,
        transfers=contact.transfers,
    )


class Callbacks:
    def __init__(self, runtime: RouterRuntime) -> None:
        self.runtime = runtime
        self.pending: dict[str, Callback] = {}
        runtime.listen(self._on_decisions)

    async def request(self, contact_id: str, number: str | None, at: float | None) -> Callback:
        """Take a callback request for a waiting contact; durable when this returns."""
        runtime = self.runtime
        engine = runtime.engine
        policy = engine.config.callbacks
        now = runtime.clock()
        contact = engine.contacts.get(contact_id)
        if contact is None or contact.state not in (ContactState.QUEUED, ContactState.OFFERED):
            state = contact.state.value if contact else "not live"
            raise CallbackRefused(f"contact {contact_id} is {state}: only a waiting one")
        if at is not None and not now - 60 <= at <= now + policy.max_ahead:
            raise CallbackRefused(
                f"the time must be from now to {policy.max_ahead / 3600:.0f} h ahead"
            )
        if at is not None and at > now and contact.state is not ContactState.QUEUED:
            raise CallbackRefused("the contact is being offered now; ask again if it is missed")
        callback = Callback(number, at if at and at > now else None, now, 0, _again(contact))
        await runtime.store.commit(
            changes_work([EventInsert(contact_id, now, "callback_requested", callback.as_dict())])
        )
        context = runtime.contexts.setdefault(contact_id, {"contact_id": contact_id})
        context["callback"] = callback.as_dict()
        self.pending[contact_id] = replace(callback, context=dict(context))
        if callback.at is not None:
            when = callback.at
            runtime.submit(lambda t: engine.hold(contact_id, when, t))
        return callback

    async def restore(self) -> int:
        """After a restart or a failover: the callbacks of unfinished contacts, from their
        explain log (the latest request or retry of each), holds included."""
        runtime, engine = self.runtime, self.runtime.engine
        waiting = [
            contact_id
            for contact_id, contact in engine.contacts.items()
            if contact.state in (ContactState.QUEUED, ContactState.OFFERED)
        ]
        latest: dict[str, dict[str, Any]] = {}
        for row in await runtime.store.events_of_kind(waiting, EVENT_KINDS):
            latest[row.contact_id] = row.detail
        now = runtime.clock()
        for contact_id, detail in latest.items():
            contact = engine.contacts[contact_id]
            at = detail.get("at")
            callback = Callback(
                detail.get("number"),
                float(at) if at is not None else None,
                float(detail.get("requested_at", now)),
                int(detail.get("attempts", 0)),
                _again(contact),
            )
            context = runtime.contexts.setdefault(contact_id, {"contact_id": contact_id})
            context["callback"] = callback.as_dict()
            self.pending[contact_id] = replace(callback, context=dict(context))
            if callback.at is not None and callback.at > now:
                self._hold_again(contact_id, callback.at)
        return len(latest)

    def _hold_again(self, contact_id: str, until: float) -> None:
        engine = self.runtime.engine
        if engine.contacts[contact_id].state is ContactState.QUEUED:
            self.runtime.submit(lambda t: engine.hold(contact_id, until, t))

    def keeps(self, contact_id: str) -> bool:
        """The customer left, but asked to be called back: the contact stays queued."""
        contact = self.runtime.engine.contacts.get(contact_id)
        return (
            contact_id in self.pending
            and contact is not None
            and contact.state in (ContactState.QUEUED, ContactState.OFFERED)
        )

    def _on_decisions(self, now: float, decisions: Decisions) -> None:
        policy = self.runtime.engine.config.callbacks
        for abandoned in decisions.of(Abandoned):
            self.pending.pop(abandoned.contact_id, None)
        for completed in decisions.of(Completed):
            callback = self.pending.pop(completed.contact_id, None)
            if callback is None or completed.outcome != policy.no_answer_outcome:
                continue
            attempts = callback.attempts + 1
            if attempts >= policy.max_attempts or callback.contact is None:
                log.info(
                    "callback %s: no answer %d times, given up", completed.contact_id, attempts
                )
                continue
            again = replace(callback, attempts=attempts, at=now + policy.retry_after)
            asyncio.get_running_loop().call_soon(self._retry, again)

    def _retry(self, callback: Callback) -> None:
        new = callback.contact
        assert new is not None and callback.at is not None
        runtime, engine, when = self.runtime, self.runtime.engine, callback.at
        if new.contact_id in engine.contacts:
            return
        self.pending[new.contact_id] = callback
        context = dict(callback.context or {"contact_id": new.contact_id})
        context["callback"] = callback.as_dict()
        runtime.contexts[new.contact_id] = context
        runtime.submit(lambda t: engine.add_held(new, when, t, "callback_retry"))
        runtime.store.record(
            [EventInsert(new.contact_id, runtime.clock(), "callback_retry", callback.as_dict())]
        )
