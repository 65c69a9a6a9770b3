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
from dataclasses import dataclass, field, replace
from typing import Any

from router.decisions import Abandoned, Completed, Decisions, Offered
from router.models import NewContact
from router.priority import history_boost
from router.rules.planner import Plan, Planner
from router.runtime import RouterRuntime, offer_context
from router.store.repository import CustomerHistory
from skills.emotion import EmotionScore
from skills.identity import (
    Identity,
    InvalidIdentity,
    email_identity,
    handle_identity,
    phone_identity,
)
from skills.triage import Triager, TriageResult
from skills.vocabulary import Channel


class IntakeError(ValueError):
    """Input that cannot be taken (e.g. an invalid phone number); safe to show."""


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None
    handles: dict[str, str] = field(default_factory=dict)  # platform -> user id

    def identities(self, gateway: str, region: str) -> list[Identity]:
        """Normalized identities; raises IntakeError naming the bad one."""
        found: list[Identity] = []
        try:
            if self.email:
                found.append(email_identity(self.email))
            if self.phone:
                found.append(phone_identity(self.phone, region))
            for platform, user_id in sorted(self.handles.items()):
                found.append(handle_identity(platform, user_id))
        except InvalidIdentity as exc:
            raise IntakeError(f"customer: {exc}") from exc
        if self.id:
            found.append(Identity(f"gateway:{gateway}", self.id))
        return sorted(set(found))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "handles": self.handles,
        }


@dataclass(frozen=True, slots=True)
class InboundContact:
    gateway: str
    external_id: str
    channel: Channel
    customer: CustomerRef = CustomerRef()
    language: str | None = None
    language_hint: str | None = None  # a browser locale: breaks a tie, never overrides the text
    intent: str | None = None
    subject: str = ""
    text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    urgency: float | None = None  # a gateway's own urgency score, 0..1
    sentiment: float | None = None  # or its sentiment, -1 (upset) .. +1 (happy)
    customer_id: str | None = None  # already known (a follow-up): no identity lookup


@dataclass(frozen=True, slots=True)
class IntakeResult:
    contact_id: str
    created: bool
    state: str
    queue: str


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


class Intake:
    def __init__(self, runtime: RouterRuntime, planner: Planner) -> None:
        self.runtime = runtime
        self.planner = planner
        self.triager = Triager(planner.config)
        self._triage: dict[str, TriageResult] = {}
        self._emotions: dict[str, list[EmotionScore]] = {}
        runtime.listen(self._forget_finished)

    def use_rules(self, planner: Planner) -> None:
        """New rules for new contacts (hot reload); contacts in flight keep theirs."""
        self.planner = planner
        self.triager = Triager(planner.config)

    async def accept(
        self, inbound: InboundContact, *, prefer_agent: str | None = None
    ) -> IntakeResult:
        """Triage, store, then route a new contact. ``prefer_agent``: offer it first to this
        agent (e.g. who handled the email this one replies to), waiting up to
        ``preferred_agent.max_wait``."""
        store = self.runtime.store
        existing = await store.contact_by_message(inbound.gateway, inbound.external_id)
        if existing is not None:
            if existing.id not in self.runtime.engine.contacts:
                # Stored by a router that died before routing it? Read it again once the
                # write-behind caught up, so a contact that just finished stays finished.
                existing = await self.runtime.stored_contact(existing.id) or existing
                self.runtime.adopt(existing)
            return IntakeResult(existing.id, False, existing.state, existing.queue)
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
        if inbound.customer_id is not None:
            customer_id = inbound.customer_id
        elif identities:
            resolved = await store.customers.resolve(identities, inbound.customer.name, now)
            customer_id, linked = resolved.customer_id, resolved.merged
        if customer_id is not None:
            await self.runtime.recorder.flush()  # history must include decisions made so far
            history = await store.customer_history(customer_id, now - self.planner.history_window)
        case = open_case(history, now - config.priority.history.repeat_window)
        plan = self.planner.plan(
            rule_facts(inbound, triage, customer_id, history, case),
            extra_skills=triage.extra_skills,
            open_case_queue=case.queue if case else None,
        )
        policy = plan.policy
        preferred = self._preferred_agent(plan, history, now)
        if prefer_agent is not None:
            preferred = prefer_agent
            if policy.preferred_wait <= 0:
                policy = replace(policy, preferred_wait=config.preferred_agent.max_wait)
        boost = history_boost(config.priority, repeat_unresolved=case is not None, transfers=0)
        values = {
            "id": uuid.uuid4().hex,
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
            },
            "state": "queued",
            "arrival": now,
            "updated_at": now,
        }
        row, created = await store.add_contact(values)
        if not created:  # a concurrent retry won the insert
            return IntakeResult(row.id, False, row.state, row.queue)
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
        return IntakeResult(row.id, True, state, policy.queue)

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
        stored = await self.runtime.store.add_message(
            contact_id, now, kind, text, emotion.as_dict(), external_id
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
