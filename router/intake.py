"""Intake: a normalized inbound contact becomes a triaged, stored, routed contact.

Order matters: the contact is stored (committed) before the engine sees it, so a gateway's
202 always means durable; a retry with the same gateway message id returns the same contact.
Channel adapters (email, chat, social, voice) and the generic HTTP intake all come here.

Triage happens here too: language, emotion and intent (skills/triage.py), the customer
across channels (identities), and the history that stops the bouncing: the agent who has
the customer's open case, its department, a repeat-contact boost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from channels.contact import InboundContact
from router.callbacks import Callbacks
from router.customer_changes import ERASED, MERGED, CustomerChange
from router.decisions import Abandoned, Completed, Decisions, Offered
from router.estimate import WaitEstimator
from router.hours import HoursBook
from router.models import NewContact, RoutePolicy
from router.outbox.events import arrival_event, message_event
from router.priority import history_boost
from router.rules.planner import Plan, Planner
from router.runtime import RouterRuntime, offer_context
from router.store.repository import CustomerHistory
from router.store.schema import ContactRow
from skills.emotion import EmotionScore
from skills.identity import Identity, phones_in_text
from skills.triage import Triager, TriageResult
from skills.vocabulary import Channel


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


@dataclass(frozen=True, slots=True)
class OpenCase:
    """The customer's most recent handled contact, unresolved, within the repeat window."""

    queue: str
    agent_id: str


def open_case(history: CustomerHistory, since: float) -> OpenCase | None:
    for handled in history.handled:  # newest first
        if handled.arrival < since:
            return None
        if handled.resolved is False:
            return OpenCase(handled.queue, handled.agent_id)
        if handled.resolved is True:
            return None  # the latest finished case was resolved
    return None


def rule_facts(
    inbound: InboundContact,
    triage: TriageResult,
    customer_id: str | None,
    history: CustomerHistory,
    case: OpenCase | None,
) -> dict[str, Any]:
    """The CEL context of rule conditions (documented in docs/rules.md)."""
    return {
        "contact": {
            "channel": inbound.channel.value,
            "language": triage.language or "",
            "intent": triage.intent or "",
            "moment_of_truth": triage.moment_of_truth,
            "emotion": triage.emotion.label,
            "subject": inbound.subject,
            "text": inbound.text,
            "attributes": inbound.attributes,
            "urgency": float(triage.urgency),
            "customer_id": customer_id or "",
            "gateway": inbound.gateway,
        },
        "customer": {
            **history.facts(),
            "open_case": case is not None,
            "open_case_queue": case.queue if case else "",
        },
    }


RECENT_MESSAGE_IDS = 100_000
KNOWN_IDENTITIES = 100_000


def customer_profile(
    customer_id: str | None,
    inbound: InboundContact,
    identities: list[Identity],
    history: CustomerHistory,
) -> dict[str, Any] | None:
    """Who the offer is about, from the customer directory: the name on file and every
    identity of the customer, not only the one this channel brought."""
    if customer_id is None:
        return None
    known = history.identities or [str(identity) for identity in identities]
    return {
        "customer_id": customer_id,
        "name": history.name or inbound.customer.name,
        "identities": [value for value in known if not value.startswith("unverified:")],
        "verified": inbound.customer.verified,
    }


def proposed_phones(
    inbound: InboundContact, profile: dict[str, Any] | None, region: str
) -> list[dict[str, str]]:
    """Phone numbers in the text or signature that are not on file: for the agent to
    confirm (POST /v1/contacts/{id}/customer/identities), never linked silently."""
    if profile is None or not inbound.customer.verified or inbound.channel is Channel.VOICE:
        return []
    on_file = set(profile["identities"])
    return [
        {"identity": str(identity), "kind": identity.kind, "value": identity.value, "found": raw}
        for identity, raw in phones_in_text(f"{inbound.subject}\n{inbound.text}", region)
        if str(identity) not in on_file
    ]


class Intake:
    def __init__(self, runtime: RouterRuntime, planner: Planner) -> None:
        self.runtime = runtime
        self.planner = planner
        self.triager = Triager(planner.config)
        self.hours = HoursBook(planner.config)
        self.estimator = WaitEstimator()
        self.callbacks = Callbacks(runtime)
        self._triage: dict[str, TriageResult] = {}
        self._emotions: dict[str, list[EmotionScore]] = {}
        self._recent: dict[tuple[str, str], str] = {}
        self._owners: dict[Identity, str] = {}  # identity -> customer, a fast path only
        self._forgotten = 0  # customer changes heard so far (a resolve racing one is not cached)
        runtime.listen(self._forget_finished)
        runtime.customer_changes.listen(self.forget_customers)
        runtime.listen(self._observe_handling)

    def use_rules(self, planner: Planner) -> None:
        """New rules for new contacts (hot reload); contacts in flight keep theirs."""
        self.planner = planner
        self.triager = Triager(planner.config)
        self.hours.use_config(planner.config)

    async def accept(
        self, inbound: InboundContact, *, prefer_agent: str | None = None
    ) -> IntakeResult:
        """Triage, store, then route a new contact. ``prefer_agent``: offer it first to this
        agent (e.g. who handled the email this one replies to), waiting up to
        ``preferred_agent.max_wait``."""
        store = self.runtime.store
        key = (inbound.gateway, inbound.external_id)
        if key in self._recent:  # a retry of a contact this process stored: no insert
            existing = await store.contact(self._recent[key])
            if existing is not None:
                return await self._duplicate(existing)
        config = self.planner.config
        identities = inbound.customer.identities(inbound.gateway, config.triage.default_region)
        triage = self.triager.triage(
            text=inbound.text,
            subject=inbound.subject,
            language=inbound.language,
            language_hint=inbound.language_hint,
            intent=inbound.intent,
            sentiment=inbound.sentiment,
            urgency=inbound.urgency,
        )
        now = self.runtime.clock()
        customer_id: str | None = None
        linked: tuple[str, ...] = ()
        history = CustomerHistory()
        known_customer = False
        if inbound.customer_id is not None:
            customer_id, known_customer = inbound.customer_id, True
        elif identities:
            cached = self._owner(identities)
            if cached is not None:  # every identity known, all of one customer: no write
                customer_id, known_customer = cached, True
            else:
                heard = self._forgotten
                resolved = await store.customers.resolve(identities, inbound.customer.name, now)
                customer_id, linked = resolved.customer_id, resolved.merged
                known_customer = not resolved.created or bool(linked)
                if linked:  # other nodes' caches still map the merged customers' identities
                    change = CustomerChange(MERGED, (customer_id, *linked))
                    await self.runtime.customer_changes.publish(change)
                if heard == self._forgotten:
                    self._own(identities, customer_id)
        if customer_id is not None and known_customer:  # a new customer has no history
            # history includes the decisions made so far (not those made while waiting)
            await self.runtime.recorder.reached(self.runtime.recorder.mark)
            history = await store.customer_history(customer_id, now - self.planner.history_window)
        case = open_case(history, now - config.priority.history.repeat_window)
        plan = self.planner.plan(
            rule_facts(inbound, triage, customer_id, history, case),
            extra_skills=triage.extra_skills,
            open_case_queue=case.queue if case else None,
        )
        policy, after_hours = self._after_hours(
            plan.policy, inbound.channel, triage.extra_skills, now
        )
        preferred = self._preferred_agent(plan, history, now)
        if prefer_agent is not None:
            preferred = prefer_agent
            if policy.preferred_wait <= 0:
                policy = replace(policy, preferred_wait=config.preferred_agent.max_wait)
        boost = history_boost(config.priority, repeat_unresolved=case is not None, transfers=0)
        contact_id = uuid.uuid4().hex
        profile = customer_profile(customer_id, inbound, identities, history)
        values = {
            "id": contact_id,
            "domain": self.runtime.domain,
            "gateway": inbound.gateway,
            "external_id": inbound.external_id,
            "channel": inbound.channel.value,
            "customer_id": customer_id,
            "customer": inbound.customer.as_dict(),
            "language": triage.language,
            "intent": triage.intent,
            "subject": inbound.subject,
            "text": inbound.text,
            "attributes": inbound.attributes,
            "urgency": float(triage.urgency),
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
                "linked_customers": list(linked),
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
            "arrival": now,
            "updated_at": now,
        }
        announce = arrival_event(contact_id, now, values, policy.queue)  # its gateway ids
        row, created = await store.add_contact(values, announce.as_row())
        if not created:  # stored before (a retry, or another node won the insert)
            return await self._duplicate(row)
        self._remember(key, row.id)
        self.runtime.contexts[row.id] = offer_context(row)
        self._triage[row.id] = triage
        self._emotions[row.id] = [triage.emotion]
        new = NewContact(
            contact_id=row.id,
            channel=inbound.channel,
            arrival=now,
            policy=policy,
            customer_id=customer_id,
            language=triage.language,
            urgency=float(triage.urgency),
            history_boost=boost,
            preferred_agent=preferred,
        )
        decisions = self.runtime.submit(lambda at: self.runtime.engine.add_contact(new, at))
        state = "offered" if decisions.of(Offered) else "queued"
        notice = after_hours["notice"] if after_hours else None
        wait = self.estimated_wait(row.id)
        self._overflow_on_estimate(row.id, policy.queue, wait)
        return IntakeResult(row.id, True, state, policy.queue, notice, after_hours, wait)

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

    def _after_hours(
        self,
        policy: RoutePolicy,
        channel: Channel,
        extra_skills: dict[str, int] | None,
        now: float,
    ) -> tuple[RoutePolicy, dict[str, Any] | None]:
        """A contact for a closed queue gets the queue's after-hours policy: a notice (and
        queued), an overflow to an open queue, or a callback offer for the opening."""
        status = self.hours.status(policy.queue, channel, now)
        if status.open:
            return policy, None
        spec = self.planner.config.after_hours_for(policy.queue)
        action = spec.action
        closed = policy.queue
        if action == "overflow" and spec.queue is not None:
            if self.hours.status(spec.queue, channel, now).open:
                policy = self.planner.queue_policy(
                    spec.queue, f"(after hours: {closed} closed)", extra_skills
                )
            else:
                action = "notice"  # nowhere open to go: queue with the notice
        opens = status.when_text(now) if status.change_at is not None else "as soon as possible"
        return policy, {
            "queue": closed,
            "status": status.as_dict(now),
            "text": status.text(now),
            "action": action,
            "overflow_to": policy.queue if policy.queue != closed else None,
            "callback_at": status.change_at if action == "callback" else None,
            "notice": spec.notice.replace("{opens}", opens),
        }

    async def _duplicate(self, existing: ContactRow) -> IntakeResult:
        if existing.id not in self.runtime.engine.contacts:
            # Stored by a router that died before routing it? Read it again once the
            # write-behind caught up, so a contact that just finished stays finished.
            existing = await self.runtime.stored_contact(existing.id) or existing
            self.runtime.adopt(existing)
        return IntakeResult(
            existing.id,
            False,
            existing.state,
            existing.queue,
            estimated_wait=self.estimated_wait(existing.id),
        )

    def _remember(self, key: tuple[str, str], contact_id: str) -> None:
        """Recent gateway message ids -> contact: a retry is answered without an insert.
        A fast path only: the unique constraint decides what is a duplicate."""
        self._recent[key] = contact_id
        if len(self._recent) > RECENT_MESSAGE_IDS:
            del self._recent[next(iter(self._recent))]

    def _owner(self, identities: list[Identity]) -> str | None:
        owners = {self._owners.get(identity) for identity in identities}
        if len(owners) != 1:
            return None
        (owner,) = owners
        return owner

    def _own(self, identities: list[Identity], customer_id: str) -> None:
        for identity in identities:
            self._owners.pop(identity, None)  # re-inserted last: the newest are kept
            self._owners[identity] = customer_id
        while len(self._owners) > KNOWN_IDENTITIES:
            del self._owners[next(iter(self._owners))]

    def forget_customers(self, change: CustomerChange) -> None:
        """A customer merged, unmerged, changed or erased (here or on another node): drop
        what the caches hold about them; the next contact asks the database."""
        self._forgotten += 1
        customers = set(change.customer_ids)
        for identity in [i for i, owner in self._owners.items() if owner in customers]:
            del self._owners[identity]
        if change.kind == ERASED:
            contacts = set(change.contact_ids)
            for key in [k for k, contact_id in self._recent.items() if contact_id in contacts]:
                del self._recent[key]
            for contact_id in contacts:
                self._triage.pop(contact_id, None)
                self._emotions.pop(contact_id, None)

    async def add_message(
        self,
        contact_id: str,
        text: str,
        kind: str,
        sentiment: float | None,
        external_id: str | None = None,
    ) -> dict[str, Any]:
        """A message or transcript segment for a contact: stored, and if the contact is
        still live, its emotion is re-scored and its priority follows."""
        row = await self.runtime.stored_contact(contact_id)
        if row is None:
            raise KeyError(contact_id)
        emotion = self.triager.emotion(text, row.language, sentiment=sentiment)
        now = self.runtime.clock()
        where = {"gateway": row.gateway, "external_id": row.external_id, "channel": row.channel}
        announce = message_event(contact_id, now, where, kind, text)
        stored = await self.runtime.store.add_message(
            contact_id, now, kind, text, emotion.as_dict(), external_id, announce.as_row()
        )
        engine = self.runtime.engine
        if not stored:  # the same message delivered again
            return {
                "contact_id": contact_id,
                "live": False,
                "rescored": False,
                "duplicate": True,
                "state": row.state,
            }
        if contact_id not in engine.contacts:
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
