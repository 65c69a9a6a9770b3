"""The simulator: the real engine, driven on a virtual clock by a traffic scenario.

A discrete-event loop: Poisson arrivals per stream, exponential handle times and
patience, shifts, unresolved contacts that come back (history routing), transfers. Simulated
agents accept every offer at once. The engine is the same object the server runs, so what
the simulator measures is what production routing does.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from channels.contact import InboundContact
from router.decisions import Abandoned, Assigned, Decisions, Offered
from router.engine import Engine
from router.intake import OpenCase, rule_facts
from router.models import NewContact
from router.priority import history_boost
from router.report import ContactOutcome, Report, build_report
from router.rules.loader import RuleSet
from router.rules.planner import Planner
from router.scenario import Scenario
from router.states import ContactState, Presence
from router.store.repository import CustomerHistory
from skills.emotion import EmotionScore
from skills.triage import TriageResult
from skills.vocabulary import AgentProfile, Channel

HIGH_URGENCY = 0.6


class Kind(IntEnum):
    SHIFT_START = 0
    ARRIVAL = 1
    REPEAT = 2
    DONE = 3
    WRAPPED = 4
    ABANDON = 5
    SHIFT_END = 6


@dataclass(order=True)
class Event:
    at: float
    seq: int
    kind: Kind = field(compare=False)
    subject: Any = field(compare=False)


@dataclass
class Customer:
    last_agent: str | None = None
    last_queue: str | None = None
    resolved: bool = True
    contacts: int = 0


class Simulation:
    def __init__(self, rules: RuleSet, scenario: Scenario) -> None:
        self.rules = rules
        self.scenario = scenario
        self.config = rules.config
        self.engine = Engine(rules.config, id_prefix="s")
        self.planner = Planner(rules)
        self.rng = random.Random(scenario.seed)
        self.events: list[Event] = []
        self.seq = 0
        self.contacts: dict[str, ContactOutcome] = {}
        self.customers: dict[str, Customer] = {}
        self.stream_of: dict[str, int] = {}
        self.shift_over: set[str] = set()
        self.login_at: dict[str, float] = {}  # agents logged in now, since when
        self.logged: float = 0.0  # seconds logged in by agents now off
        self.busy: dict[str, float] = {}
        self.now = 0.0
        self.counter = 0  # customers created
        self.contact_count = 0

    # ---------------------------------------------------------------- plumbing

    def at(self, when: float, kind: Kind, subject: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, Event(when, self.seq, kind, subject))

    def expo(self, mean: float) -> float:
        return self.rng.expovariate(1.0 / mean) if mean > 0 else 0.0

    def run(self, progress: Callable[[float], None] | None = None) -> Report:
        end = self.scenario.duration
        self._staff()
        for index, stream in enumerate(self.scenario.arrivals):
            self.at(self.expo(3600.0 / stream.per_hour), Kind.ARRIVAL, index)
        next_report = 0.0
        while True:
            deadline = self.engine.next_deadline()
            upcoming = self.events[0].at if self.events else math.inf
            when = min(upcoming, deadline if deadline is not None else math.inf)
            if when > end or when == math.inf:
                break
            self.now = when
            if deadline is not None and deadline <= upcoming:
                self.handle(self.engine.advance(when))
            else:
                self.fire(heapq.heappop(self.events))
            if progress is not None and when >= next_report:
                progress(when / end)
                next_report = when + end / 100
        if progress is not None:
            progress(1.0)
        return self.report()

    # ------------------------------------------------------------------ events

    def _staff(self) -> None:
        for group_index, group in enumerate(self.scenario.agents):
            for n in range(group.count):
                agent_id = f"{group.name}{group_index}-{n}"
                self.engine.upsert_agent(
                    AgentProfile(
                        agent_id,
                        agent_id,
                        dict(group.skills),
                        frozenset(group.languages),
                        dict(group.capacity),
                    ),
                    0.0,
                )
                self.at(group.shift.start, Kind.SHIFT_START, agent_id)
                if group.shift.end < self.scenario.duration:
                    self.at(group.shift.end, Kind.SHIFT_END, agent_id)

    def fire(self, event: Event) -> None:
        kind, subject = event.kind, event.subject
        if kind is Kind.ARRIVAL:
            stream = self.scenario.arrivals[subject]
            self.at(self.now + self.expo(3600.0 / stream.per_hour), Kind.ARRIVAL, subject)
            self.counter += 1
            self.arrive(subject, f"cust{self.counter}")
        elif kind is Kind.REPEAT:
            stream_index, customer_id = subject
            self.arrive(stream_index, customer_id)
        elif kind is Kind.DONE:
            self.finish(*subject)
        elif kind is Kind.WRAPPED:
            contact_id, agent_id, resolved = subject
            if contact_id in self.engine.contacts:
                self.handle(
                    self.engine.wrap_up(
                        agent_id, contact_id, self.now, outcome="simulated", resolved=resolved
                    )
                )
            self.release(agent_id)
        elif kind is Kind.ABANDON:
            live = self.engine.contacts.get(subject)
            if live is not None and live.state in (ContactState.QUEUED, ContactState.OFFERED):
                self.handle(self.engine.abandon(subject, self.now))
        elif kind is Kind.SHIFT_START:
            self.login_at[subject] = self.now
            self.handle(self.engine.set_presence(subject, Presence.AVAILABLE, self.now))
        elif kind is Kind.SHIFT_END:
            self.shift_over.add(subject)
            self.handle(self.engine.set_presence(subject, Presence.AWAY, self.now, "shift over"))
            self.release(subject)

    def arrive(self, stream_index: int, customer_id: str) -> None:
        stream = self.scenario.arrivals[stream_index]
        customer = self.customers.setdefault(customer_id, Customer())
        angry = self.rng.random() < stream.angry_share
        felt = self.rng.uniform(0.6, 1.0) if angry else self.rng.uniform(0.0, 0.2)
        intent = self.config.intents.get(stream.intent)
        triage = TriageResult(  # as intake would have triaged it, with the sampled emotion
            language=stream.language,
            language_source="gateway",
            emotion=EmotionScore(felt, "negative" if angry else "neutral", felt, 0.0),
            intent=stream.intent or None,
            intent_source="gateway",
            moment_of_truth=bool(intent and intent.moment_of_truth),
            intent_urgency=intent.urgency if intent else 0.0,
            extra_skills=dict(intent.skills) if intent else {},
        )
        urgency = triage.urgency
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
            external_id=customer_id,
            channel=stream.channel,
            language=stream.language,
            intent=stream.intent or None,
            text=stream.text,
            attributes=dict(stream.attributes),
        )
        plan = self.planner.plan(
            rule_facts(inbound, triage, customer_id, history, case),
            extra_skills=triage.extra_skills,
            open_case_queue=case.queue if case else None,
        )
        customer.contacts += 1
        preferred = customer.last_agent if open_case and plan.preferred else None
        self.contact_count += 1
        contact_id = f"k{self.contact_count}"
        self.stream_of[contact_id] = stream_index
        self.contacts[contact_id] = ContactOutcome(
            contact_id,
            plan.policy.queue,
            stream.channel,
            self.now,
            urgency,
            customer_id,
            preferred=preferred,
        )
        boost = history_boost(self.config.priority, repeat_unresolved=open_case, transfers=0)
        self.handle(
            self.engine.add_contact(
                NewContact(
                    contact_id,
                    stream.channel,
                    self.now,
                    plan.policy,
                    customer_id,
                    stream.language,
                    urgency,
                    boost,
                    preferred,
                ),
                self.now,
            )
        )
        patience = self.scenario.patience.get(stream.channel)
        if patience is not None and contact_id in self.engine.contacts:
            self.at(self.now + self.expo(patience), Kind.ABANDON, contact_id)

    def handle(self, decisions: Decisions) -> None:
        """Simulated agents accept every offer at once; answered contacts start handling."""
        pending = list(decisions)
        while pending:
            decision = pending.pop(0)
            if isinstance(decision, Offered):
                pending.extend(self.engine.accept(decision.agent_id, decision.offer_id, self.now))
            elif isinstance(decision, Assigned):
                outcome = self.contacts[decision.contact_id]
                if outcome.answered_at is None:
                    outcome.answered_at = self.now
                    outcome.agent = decision.agent_id
                channel = outcome.channel
                handle = self.expo(self.scenario.mean_handle(channel))
                self.busy[decision.agent_id] = self.busy.get(decision.agent_id, 0.0) + handle
                self.at(self.now + handle, Kind.DONE, (decision.contact_id, decision.agent_id))
            elif isinstance(decision, Abandoned):
                self.contacts[decision.contact_id].abandoned_at = self.now

    def finish(self, contact_id: str, agent_id: str) -> None:
        outcome = self.contacts[contact_id]
        live = self.engine.contacts.get(contact_id)
        if live is None or live.agent_id != agent_id:
            return
        if outcome.transfers == 0 and self.rng.random() < self.scenario.transfer_share:
            target = self._other_queue(outcome.queue)
            if target is not None:
                outcome.transfers += 1
                self.handle(self.engine.transfer(agent_id, contact_id, self.now, queue=target))
                self.release(agent_id)
                return
        resolved = self.rng.random() < self.scenario.resolution_rate
        customer = self.customers[outcome.customer]
        customer.last_agent, customer.last_queue, customer.resolved = (
            agent_id,
            live.policy.queue,
            resolved,
        )
        if not resolved and self.rng.random() < self.scenario.repeat.share:
            stream = self.stream_of[contact_id]
            self.at(
                self.now + self.expo(self.scenario.repeat.after),
                Kind.REPEAT,
                (stream, outcome.customer),
            )
        work = self.scenario.after_contact_work.get(outcome.channel, 0.0)
        if work > 0:
            self.handle(self.engine.end_contact(contact_id, self.now, "agent", agent_id))
            self.busy[agent_id] = self.busy.get(agent_id, 0.0) + work
            self.at(self.now + work, Kind.WRAPPED, (contact_id, agent_id, resolved))
            return
        self.handle(
            self.engine.wrap_up(
                agent_id, contact_id, self.now, outcome="simulated", resolved=resolved
            )
        )
        self.release(agent_id)

    def release(self, agent_id: str) -> None:
        """An agent whose shift is over logs off once its last contact is done."""
        agent = self.engine.agents[agent_id]
        if (
            agent_id in self.shift_over
            and not agent.busy_channels()
            and agent.presence is not Presence.OFFLINE
        ):
            self.handle(self.engine.set_presence(agent_id, Presence.OFFLINE, self.now))
            self.logged += self.now - self.login_at.pop(agent_id, self.now)

    def _other_queue(self, current: str) -> str | None:
        choices = sorted(q for q in self.config.queues if q != current)
        return self.rng.choice(choices) if choices else None

    def report(self) -> Report:
        end = self.scenario.duration
        logged = self.logged + sum(end - since for since in self.login_at.values())
        return build_report(
            self.config,
            list(self.contacts.values()),
            end,
            HIGH_URGENCY,
            sum(self.busy.values()),
            logged,
        )


def simulate(
    rules: RuleSet, scenario: Scenario, progress: Callable[[float], None] | None = None
) -> Report:
    return Simulation(rules, scenario).run(progress)


__all__ = ["Channel", "Report", "Simulation", "simulate"]
