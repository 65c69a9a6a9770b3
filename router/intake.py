"""Intake: a normalized inbound contact becomes a triaged, stored, routed contact.

Order matters: the contact is stored (committed) before the engine sees it, so a gateway's
202 always means durable; a retry with the same gateway message id returns the same contact.
Channel adapters (email, chat, social, voice) and the generic HTTP intake all come here.

Two halves: the reception (router/reception.py: language, emotion and intent, the customer
across channels) stores the contact as ``received`` with its customer in one commit; then
the plan (history that stops the bouncing: the agent who has the customer's open case, its
department, a repeat-contact boost; rules; hours) is written with the decisions that route
it. In one process both halves run here; with several nodes on PostgreSQL the receiving
node runs the first and the active router the second (``route_received``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from channels.contact import InboundContact
from router.after_hours import after_hours_policy
from router.callbacks import Callbacks
from router.customer_changes import ERASED, CustomerChange
from router.decisions import Abandoned, Completed, Decisions, Offered
from router.estimate import WaitEstimator
from router.gathered_reads import GatheredReads
from router.history_waits import HistoryWaits
from router.hours import HoursBook
from router.ids import ordered_id
from router.intake_facts import (
    customer_profile,
    open_case,
    proposed_phones,
    rule_facts,
)
from router.models import NewContact
from router.outbox.events import arrival_event, message_event
from router.priority import history_boost
from router.reception import Received, Reception, received_from_row, received_values
from router.rules.planner import Plan, Planner
from router.runtime import RouterRuntime, offer_context
from router.states import RECEIVED
from router.store.changes import Change, ContactPlan, OutboxInsert
from router.store.errors import StoreBusy, StoreError
from router.store.histories import CustomerHistory, HistoryAsk
from router.store.new_rows import new_row
from router.store.schema import ContactRow
from skills.emotion import EmotionScore
from skills.triage import Triager, TriageResult


@dataclass(frozen=True, slots=True)
class IntakeResult:
    contact_id: str
    created: bool
    state: str
    queue: str
    notice: str | None = None
    """For the customer: the queue is closed, when it opens (after-hours policy)."""
    after_hours: dict[str, Any] | None = None
    estimated_wait: float | None = None
    """Seconds until an agent takes it (router/estimate.py); None: nobody could now."""

    def as_dict(self) -> dict[str, Any]:
        """Its fields (``dataclasses.asdict`` without its deep copy: a command's reply)."""
        return {name: getattr(self, name) for name in self.__slots__}


class ContactIntake(Protocol):
    """What ``POST /v1/contacts`` needs: this process' Intake, or a node's (several nodes)."""

    async def accept(self, inbound: InboundContact) -> IntakeResult: ...


log = logging.getLogger("centralino.intake")


class ContactGone(KeyError):
    """A contact not stored, or whose record was erased: nothing can be added to it."""


BACKLOG_CHUNK = 100  # received contacts planned at once at take-over (one group commit)


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """The second half's plan of a received contact: its row, its route, what to tell."""

    values: dict[str, Any]
    new: NewContact
    after_hours: dict[str, Any] | None


class Intake:
    def __init__(self, runtime: RouterRuntime, planner: Planner) -> None:
        self.runtime = runtime
        self.planner = planner
        self.reception = Reception(
            runtime.store.received, planner.config, runtime.customer_changes.publish
        )
        self.hours = HoursBook(planner.config)
        self.estimator = WaitEstimator()
        self.callbacks = Callbacks(runtime)
        self._triage: dict[str, TriageResult] = {}
        self._emotions: dict[str, list[EmotionScore]] = {}
        self._routing: dict[str, asyncio.Future[IntakeResult]] = {}  # received, being planned
        # what a returning customer's history read must wait for (router/history_waits.py)
        self.history_waits = HistoryWaits(lambda: runtime.recorder.mark)
        runtime.listen(self.history_waits.observe)
        # returning customers' history reads, gathered (router/gathered_reads.py)
        self.history_reads: GatheredReads[HistoryAsk, CustomerHistory] = GatheredReads(
            lambda asks: self.runtime.store.customer_histories(asks), "a customer's history"
        )
        runtime.listen(self._forget_finished)
        runtime.customer_changes.listen(self.forget_customers)
        runtime.listen(self._observe_handling)
        runtime.on_reloaded(self._replan_soon)
        self._replanning: asyncio.Task[int] | None = None

    @property
    def triager(self) -> Triager:
        return self.reception.triager

    def use_rules(self, planner: Planner) -> None:
        """New rules for new contacts (hot reload); contacts in flight keep theirs."""
        self.planner = planner
        self.reception.use_config(planner.config)
        self.hours.use_config(planner.config)

    async def accept(
        self,
        inbound: InboundContact,
        *,
        prefer_agent: str | None = None,
        threads: Sequence[str] = (),
    ) -> IntakeResult:
        """Triage, store, then route a new contact (both halves here, one commit).
        ``prefer_agent``: offer it first to this agent (e.g. who handled the email this one
        replies to), waiting up to ``preferred_agent.max_wait``. ``threads``: the gateway's
        thread keys that find the new contact (stored in its commit; router/dispatch.py)."""
        store = self.runtime.store
        known = self.reception.recent(inbound.gateway, inbound.external_id)
        if known is not None:  # a retry of a contact this process stored: no insert
            existing = await store.contact(known)
            if existing is not None:
                return await self._duplicate(existing)
        now = self.runtime.clock()
        contact_id = ordered_id()
        received, taken = await self.reception.take(
            inbound, contact_id, self.runtime.domain, now, prefer_agent, threads
        )
        if not taken.created:  # stored before (a retry, or another node won the insert)
            existing = await store.contact(taken.contact_id)
            if existing is None:
                raise StoreError("the contact went while it was read; retry")
            return await self._duplicate(existing)
        self.reception.remember(inbound.gateway, inbound.external_id, contact_id)
        row = new_row(ContactRow, {"id": contact_id, "arrival": now})  # its reception is given
        return await self.route_received(row, received=received)

    async def route_received(
        self, row: ContactRow, *, check: bool = False, received: Received | None = None
    ) -> IntakeResult:
        """The second half for a contact stored as ``received`` (here, or by a node): plan
        it (history, rules, hours), record the plan (without waiting, like a decision) and
        route it. ``check``: read the record first (a command applied again after a
        take-over may find the contact planned, or done). ``received``: its reception, if
        this process took it in. Planning the same contact twice at once waits for the
        first."""
        running = self._routing.get(row.id)
        if running is not None:
            return await asyncio.shield(running)
        if row.id in self.runtime.engine.contacts:
            return await self._duplicate(row)
        future: asyncio.Future[IntakeResult] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda done: done.cancelled() or done.exception())
        self._routing[row.id] = future
        try:
            result = await self._route_received(row, check, received)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._routing[row.id]
        future.set_result(result)
        return result

    async def route_backlog(self, before: float | None = None) -> int:
        """Plan and route the contacts nodes stored that no router planned yet (at
        take-over; and, with ``before``, a sweep for a node that died before its command
        reached the router), a hundred at a time. Returns how many were routed here."""
        rows = [
            row
            for row in await self.runtime.store.received.pending(self.runtime.domain, before)
            if row.id not in self.runtime.engine.contacts and row.id not in self._routing
        ]
        for start in range(0, len(rows), BACKLOG_CHUNK):
            chunk = rows[start : start + BACKLOG_CHUNK]
            results = await asyncio.gather(
                *(self.route_received(row, check=True) for row in chunk), return_exceptions=True
            )
            for row, result in zip(chunk, results, strict=True):
                if isinstance(result, KeyError):
                    continue  # erased meanwhile
                if isinstance(result, StoreBusy):
                    raise result  # the next sweep or take-over tries again
                if isinstance(result, BaseException):
                    log.error("received contact %s not routed: %r", row.id, result)
        return len(rows)

    def _replan_soon(self) -> None:
        """The engine was rebuilt from the record: plan what is still ``received`` there
        (e.g. a contact whose plan could not be written)."""
        if self._replanning is None or self._replanning.done():
            self._replanning = asyncio.create_task(self.route_backlog(), name="centralino-replan")

    async def _route_received(
        self, row: ContactRow, check: bool, received: Received | None
    ) -> IntakeResult:
        if check:
            stored = await self.runtime.stored_contact(row.id)
            if stored is None:
                raise KeyError(row.id)
            if stored.state != RECEIVED:
                return await self._duplicate(stored)
            row = stored
        if received is None:
            received = received_from_row(row)
        now = self.runtime.clock()
        planned = await self._plan(received, row.id, row.arrival, now)
        announce = arrival_event(row.id, now, planned.values, planned.new.policy.queue)
        # written with the decisions that route it, in one unit: a failure of either
        # makes the router reload from the record (where the contact is still received)
        plan: list[Change] = [ContactPlan(row.id, planned.values), OutboxInsert(announce.as_row())]
        return self._route(new_row(ContactRow, planned.values), received.triage, planned, plan)

    async def _plan(
        self,
        received: Received,
        contact_id: str,
        arrival: float,
        now: float,
    ) -> PlannedContact:
        """History, rules, hours and preferences: the contact's route and its row."""
        config = self.planner.config
        inbound, triage, customer_id = received.inbound, received.triage, received.customer_id
        history = CustomerHistory()
        if customer_id is not None and received.known_customer:  # a new one has no history
            history = await self._history(customer_id, contact_id, now)
        case = open_case(history, now - config.priority.history.repeat_window)
        plan = self.planner.plan(
            rule_facts(inbound, triage, customer_id, history, case),
            extra_skills=triage.extra_skills,
            open_case_queue=case.queue if case else None,
        )
        policy, after_hours = after_hours_policy(
            self.hours, self.planner, plan.policy, inbound.channel, triage.extra_skills, now
        )
        preferred = self._preferred_agent(plan, history, now)
        prefer_agent = received.prefer_agent
        if prefer_agent is not None:
            preferred = prefer_agent
            if policy.preferred_wait <= 0:
                policy = replace(policy, preferred_wait=config.preferred_agent.max_wait)
        boost = history_boost(config.priority, repeat_unresolved=case is not None, transfers=0)
        identities = received.identities
        profile = customer_profile(customer_id, inbound, identities, history)
        values = received_values(received, contact_id, self.runtime.domain, arrival)
        values |= {
            "history_boost": boost,
            "preferred_agent": preferred,
            "queue": policy.queue,
            "rule": policy.rule,
            "policy": policy.to_dict(),
            "triage": {
                **plan.explanation(),
                **triage.as_dict(),
                "intent_urgency": triage.intent_urgency,
                "customer": history.facts(),
                "identities": [str(identity) for identity in identities],
                "linked_customers": list(received.linked),
                "open_case": {"queue": case.queue, "agent_id": case.agent_id} if case else None,
                "history": history.recent,
                "preferred_agent": preferred,
                "history_boost": boost,
                "profile": profile,
                "proposed_identities": proposed_phones(
                    inbound, profile, config.triage.default_region
                ),
                "after_hours": after_hours,
            },
            "state": "queued",
            "updated_at": now,
        }
        new = NewContact(
            contact_id=contact_id,
            channel=inbound.channel,
            arrival=arrival,
            policy=policy,
            customer_id=customer_id,
            language=triage.language,
            urgency=float(triage.urgency),
            history_boost=boost,
            preferred_agent=preferred,
        )
        return PlannedContact(values, new, after_hours)

    async def _history(self, customer_id: str, contact_id: str, now: float) -> CustomerHistory:
        """The customer's history, holding the decisions made so far about the contacts it
        shows (not those made while waiting): read, and if one of them has decisions not
        written yet, read again once they are (router/history_waits.py)."""
        ask = HistoryAsk(customer_id, now - self.planner.history_window, contact_id)
        recorder = self.runtime.recorder
        history = await self.history_reads.read(ask)
        mark = self.history_waits.mark_for(history.contact_ids)
        if not recorder.written(mark):
            await recorder.reached(mark)
            history = await self.history_reads.read(ask)
        return history

    def _route(
        self,
        row: ContactRow,
        triage: TriageResult,
        planned: PlannedContact,
        plan: Sequence[Change],
    ) -> IntakeResult:
        """A stored, planned contact into the engine (which decides at once)."""
        self.runtime.contexts[row.id] = offer_context(row)
        self._triage[row.id] = triage
        self._emotions[row.id] = [triage.emotion]
        new = planned.new
        engine = self.runtime.engine
        decisions = self.runtime.submit(lambda at: engine.add_contact(new, at), first=plan)
        state = "offered" if decisions.of(Offered) else "queued"
        after_hours = planned.after_hours
        notice = after_hours["notice"] if after_hours else None
        wait = self.estimated_wait(row.id)
        self._overflow_on_estimate(row.id, new.policy.queue, wait)
        return IntakeResult(row.id, True, state, new.policy.queue, notice, after_hours, wait)

    def _overflow_on_estimate(self, contact_id: str, queue: str, wait: float | None) -> None:
        """A queue's ``overflow`` rule with ``wait_above``: applied when the estimate at
        arrival passes it (nobody able to serve counts as past it)."""
        rules = self.planner.config.queues[queue].overflow
        due = [
            index
            for index, rule in enumerate(rules)
            if rule.wait_above is not None and (wait is None or wait > rule.wait_above)
        ]
        if due and contact_id in self.runtime.engine.contacts:
            engine = self.runtime.engine
            self.runtime.submit(lambda now: engine.overflow_now(contact_id, due[0], now))

    def _observe_handling(self, now: float, decisions: Decisions) -> None:
        self.estimator.observe(now, decisions, self.runtime.engine)

    def estimated_wait(self, contact_id: str) -> float | None:
        """A live contact's estimated remaining wait in seconds (0 once offered or being
        handled); None if it is not live or nobody logged in could take it."""
        engine = self.runtime.engine
        contact = engine.contacts.get(contact_id)
        if contact is None:
            return None
        seconds = self.estimator.for_contact(engine, contact, self.runtime.clock()).seconds
        return None if seconds is None else round(seconds, 1)

    async def _duplicate(self, existing: ContactRow) -> IntakeResult:
        if existing.state == RECEIVED and existing.id not in self.runtime.engine.contacts:
            return replace(await self.route_received(existing, check=True), created=False)
        if existing.id not in self.runtime.engine.contacts:
            # Stored by a router that died before routing it? Read it again once the
            # write-behind caught up, so a contact that just finished stays finished.
            existing = await self.runtime.stored_contact(existing.id) or existing
            self.runtime.adopt(existing)
        state, queue = existing.state, existing.queue
        live = self.runtime.engine.contacts.get(existing.id)
        if live is not None:  # the engine is ahead of the record
            state, queue = live.state.value, live.policy.queue
        return IntakeResult(
            existing.id, False, state, queue, estimated_wait=self.estimated_wait(existing.id)
        )

    def forget_customers(self, change: CustomerChange) -> None:
        """A customer merged, unmerged, changed or erased (here or on another node): drop
        what the caches hold about them."""
        self.reception.forget_customers(change)
        if change.kind == ERASED:
            for contact_id in change.contact_ids:
                self._triage.pop(contact_id, None)
                self._emotions.pop(contact_id, None)

    async def add_message(
        self,
        contact_id: str,
        text: str,
        kind: str,
        sentiment: float | None,
        external_id: str | None = None,
        row: Any | None = None,
    ) -> dict[str, Any]:
        """A message or transcript segment for a contact: stored, and if the contact is
        still live, its emotion is re-scored and its priority follows. ContactGone for a
        contact not stored or whose record was erased. ``row``: the contact's row as the
        caller just read it (a ``ContactRow``, or its columns read like one: its
        thread's): if the contact is live, it is not read again
        (a live contact's state is the engine's; of its row the message needs what does
        not change: its language, gateway, channel, and after a restart its triage)."""
        engine = self.runtime.engine
        given = row is not None and row.id == contact_id and contact_id in engine.contacts
        if given:  # what was decided before the message is written before it, as with a read
            await self.runtime.recorder.flush()
        else:
            row = await self.runtime.stored_contact(contact_id)
        if row is None or (row.triage or {}).get("erased"):
            raise ContactGone(contact_id)
        emotion = self.triager.emotion(text, row.language, sentiment=sentiment)
        now = self.runtime.clock()
        where = {"gateway": row.gateway, "external_id": row.external_id, "channel": row.channel}
        announce = message_event(contact_id, now, where, kind, text)
        stored = await self.runtime.store.add_message(
            contact_id, now, kind, text, emotion.as_dict(), external_id, announce.as_row()
        )
        if not stored:  # the same message delivered again
            live = engine.contacts.get(contact_id)
            return {
                "contact_id": contact_id,
                "live": False,
                "rescored": False,
                "duplicate": True,
                "state": live.state.value if live is not None else row.state,
            }
        if contact_id not in engine.contacts:
            if given:  # it ended meanwhile: its state as stored now
                row = await self.runtime.stored_contact(contact_id) or row
            return {
                "contact_id": contact_id,
                "live": False,
                "rescored": False,
                "state": row.state,
                "emotion": emotion.as_dict(),
            }
        triage = self._triage.get(contact_id) or TriageResult(
            row.language,
            "stored",
            EmotionScore(row.urgency, "neutral", 0.0, 0.0),
            row.intent,
            "stored",
            intent_urgency=float((row.triage or {}).get("intent_urgency", 0.0)),
        )
        emotions = self._emotions.setdefault(contact_id, [triage.emotion])
        emotions.append(emotion)
        current = triage.rescored(emotions)
        context = self.runtime.contexts.get(contact_id)
        if context is not None:
            context["emotion"] = current.emotion.as_dict()
            context["urgency"] = round(current.urgency, 3)
            context.setdefault("messages", []).append(
                {"at": now, "kind": kind, "text": text[:2000]}
            )
            if kind == "transcript" and "transcript" in context:  # a call's words so far
                context["transcript"].append({"at": now, "text": text[:2000]})
        decisions = self.runtime.submit(lambda at: engine.rescore(contact_id, current.urgency, at))
        return {
            "contact_id": contact_id,
            "live": True,
            "rescored": bool(decisions),
            "state": engine.contacts[contact_id].state.value,
            "urgency": round(current.urgency, 3),
            "emotion": current.emotion.as_dict(),
        }

    def _preferred_agent(self, plan: Plan, history: CustomerHistory, now: float) -> str | None:
        spec = plan.preferred
        if spec is None or plan.policy.preferred_wait <= 0:
            return None
        since = now - spec.lookback
        for handled in history.handled:  # newest first
            if handled.arrival < since:
                break
            if spec.policy == "last_agent" or handled.resolved is False:
                return handled.agent_id
        return None

    def _forget_finished(self, _now: float, decisions: Decisions) -> None:
        for decision in decisions:
            if isinstance(decision, Completed | Abandoned):
                self._triage.pop(decision.contact_id, None)
                self._emotions.pop(decision.contact_id, None)
