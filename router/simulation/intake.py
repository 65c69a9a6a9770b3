"""A simulated contact arrives: triage, customer history, rules, as the server's intake.

Stream callers are triaged from their stream's traits (upset with ``angry_share``: urgency
0.6-1.0, else 0-0.2, keyed draws); trace rows go through the real triage (language, intent
keywords, the emotion detector on their text, or the urgency they carry).
"""

from __future__ import annotations

from dataclasses import dataclass

from channels.contact import InboundContact
from router.intake_facts import OpenCase, rule_facts
from router.models import NewContact, RoutePolicy
from router.priority import history_boost
from router.rules.loader import RuleSet
from router.rules.planner import Planner
from router.simulation.draws import Draws
from router.simulation.metrics import HIGH_URGENCY, ContactOutcome
from router.simulation.traffic import Caller
from router.store.histories import CustomerHistory
from skills.emotion import EmotionScore
from skills.triage import Triager, TriageResult


@dataclass
class Customer:
    last_agent: str | None = None
    last_queue: str | None = None
    resolved: bool = True
    contacts: int = 0


@dataclass(frozen=True, slots=True)
class Admitted:
    contact: NewContact
    outcome: ContactOutcome
    upset: bool


class Intake:
    def __init__(self, rules: RuleSet, draws: Draws) -> None:
        self.config = rules.config
        self.planner = Planner(rules)
        self.draws = draws
        self.customers: dict[str, Customer] = {}
        self._triager: Triager | None = None

    def triage(self, caller: Caller) -> TriageResult:
        row = caller.row
        if row is not None:
            if self._triager is None:
                self._triager = Triager(self.config)
            return self._triager.triage(
                text=row.text,
                language=row.language,
                intent=row.intent or None,
                urgency=row.urgency,
            )
        key = caller.key
        angry = self.draws.chance(caller.angry_share, key, "upset")
        felt = self.draws.between(*((0.6, 1.0) if angry else (0.0, 0.2)), key, "emotion")
        intent = self.config.intents.get(caller.intent)
        return TriageResult(  # as intake would have triaged it, with the sampled emotion
            language=caller.language,
            language_source="gateway",
            emotion=EmotionScore(felt, "negative" if angry else "neutral", felt, 0.0),
            intent=caller.intent or None,
            intent_source="gateway",
            moment_of_truth=bool(intent and intent.moment_of_truth),
            intent_urgency=intent.urgency if intent else 0.0,
            extra_skills=dict(intent.skills) if intent else {},
        )

    def admit(self, caller: Caller, now: float) -> Admitted:
        customer = self.customers.setdefault(caller.customer, Customer())
        triage = self.triage(caller)
        open_case = not customer.resolved and customer.last_agent is not None
        case = OpenCase(customer.last_queue or "", customer.last_agent or "") if open_case else None
        history = CustomerHistory(
            previous_contacts=customer.contacts,
            unresolved=not customer.resolved,
            last_agent=customer.last_agent,
            last_queue=customer.last_queue,
        )
        inbound = InboundContact(
            gateway="simulator",
            external_id=caller.key,
            channel=caller.channel,
            language=triage.language,
            intent=triage.intent,
            text=caller.text,
            attributes=dict(caller.attributes),
        )
        plan = self.planner.plan(
            rule_facts(inbound, triage, caller.customer, history, case),
            extra_skills=triage.extra_skills,
            open_case_queue=case.queue if case else None,
        )
        customer.contacts += 1
        preferred = customer.last_agent if open_case and plan.preferred else None
        policy: RoutePolicy = plan.policy
        urgency = triage.urgency
        outcome = ContactOutcome(
            caller.key,
            policy.queue,
            caller.channel,
            now,
            urgency,
            caller.customer,
            preferred=preferred,
            preferred_wait=policy.preferred_wait,
            kind=caller.kind,
        )
        boost = history_boost(self.config.priority, repeat_unresolved=open_case, transfers=0)
        contact = NewContact(
            caller.key,
            caller.channel,
            now,
            policy,
            caller.customer,
            triage.language,
            urgency,
            boost,
            preferred,
        )
        return Admitted(contact, outcome, triage.emotion.urgency >= HIGH_URGENCY)

    def handled(self, customer_id: str, agent: str, queue: str, resolved: bool) -> None:
        customer = self.customers[customer_id]
        customer.last_agent, customer.last_queue, customer.resolved = agent, queue, resolved
