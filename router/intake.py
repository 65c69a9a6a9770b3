"""Intake: a normalized inbound contact becomes a stored, routed contact.

Order matters: the contact is stored (committed) before the engine sees it, so a gateway's
202 always means durable; a retry with the same gateway message id returns the same contact.
Channel adapters (email, chat, social, voice) and the generic HTTP intake all come here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from router.decisions import Offered
from router.models import NewContact
from router.priority import history_boost
from router.rules.planner import Plan, Planner
from router.runtime import RouterRuntime, offer_context
from router.store.repository import CustomerHistory
from skills.vocabulary import Channel


@dataclass(frozen=True, slots=True)
class CustomerRef:
    id: str | None = None
    name: str = ""
    email: str | None = None
    phone: str | None = None

    def key(self) -> str | None:
        """One stable customer key: the gateway's id, else the email, else the phone."""
        if self.id:
            return self.id
        if self.email:
            return f"email:{self.email.strip().lower()}"
        if self.phone:
            return f"phone:{self.phone.strip()}"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email, "phone": self.phone}


@dataclass(frozen=True, slots=True)
class InboundContact:
    gateway: str
    external_id: str
    channel: Channel
    customer: CustomerRef = CustomerRef()
    language: str | None = None
    intent: str | None = None
    subject: str = ""
    text: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    urgency: float | None = None  # a gateway's own sentiment/urgency score, 0..1


@dataclass(frozen=True, slots=True)
class IntakeResult:
    contact_id: str
    created: bool
    state: str
    queue: str


def rule_facts(
    inbound: InboundContact, customer_key: str | None, history: CustomerHistory
) -> dict[str, Any]:
    """The CEL context of rule conditions (documented in docs/rules.md)."""
    return {
        "contact": {
            "channel": inbound.channel.value,
            "language": inbound.language or "",
            "intent": inbound.intent or "",
            "subject": inbound.subject,
            "text": inbound.text,
            "attributes": inbound.attributes,
            "urgency": float(inbound.urgency or 0.0),
            "customer_id": customer_key or "",
            "gateway": inbound.gateway,
        },
        "customer": history.facts(),
    }


class Intake:
    def __init__(self, runtime: RouterRuntime, planner: Planner) -> None:
        self.runtime = runtime
        self.planner = planner

    async def accept(self, inbound: InboundContact) -> IntakeResult:
        store = self.runtime.store
        existing = await store.contact_by_message(inbound.gateway, inbound.external_id)
        if existing is not None:
            return IntakeResult(existing.id, False, existing.state, existing.queue)
        now = self.runtime.clock()
        config = self.planner.config
        customer_key = inbound.customer.key()
        history = CustomerHistory()
        if customer_key is not None:
            history = await store.customer_history(customer_key, now - self.planner.history_window)
        plan = self.planner.plan(rule_facts(inbound, customer_key, history))
        preferred = self._preferred_agent(plan, history, now)
        boost = history_boost(config.priority, repeat_unresolved=history.unresolved, transfers=0)
        values = {
            "id": uuid.uuid4().hex,
            "gateway": inbound.gateway,
            "external_id": inbound.external_id,
            "channel": inbound.channel.value,
            "customer_id": customer_key,
            "customer": inbound.customer.as_dict(),
            "language": inbound.language,
            "intent": inbound.intent,
            "subject": inbound.subject,
            "text": inbound.text,
            "attributes": inbound.attributes,
            "urgency": float(inbound.urgency or 0.0),
            "history_boost": boost,
            "preferred_agent": preferred,
            "queue": plan.policy.queue,
            "rule": plan.policy.rule,
            "policy": plan.policy.to_dict(),
            "triage": {
                **plan.explanation(),
                "customer": history.facts(),
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
        new = NewContact(
            contact_id=row.id,
            channel=inbound.channel,
            arrival=now,
            policy=plan.policy,
            customer_id=customer_key,
            language=inbound.language,
            urgency=float(inbound.urgency or 0.0),
            history_boost=boost,
            preferred_agent=preferred,
        )
        decisions = self.runtime.submit(lambda at: self.runtime.engine.add_contact(new, at))
        state = "offered" if decisions.of(Offered) else "queued"
        return IntakeResult(row.id, True, state, plan.policy.queue)

    def _preferred_agent(self, plan: Plan, history: CustomerHistory, now: float) -> str | None:
        spec = plan.preferred
        if spec is None or plan.policy.preferred_wait <= 0:
            return None
        since = now - spec.lookback
        for arrival, agent_id, resolved in history.handled:  # newest first
            if arrival < since:
                break
            if spec.policy == "last_agent" or resolved is False:
                return agent_id
        return None
