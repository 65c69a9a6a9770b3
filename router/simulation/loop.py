"""The simulator: the real engine, driven on a virtual clock by a traffic scenario.

A discrete-event loop around ``router.engine.Engine`` (used only through its public
methods, as the server uses it). Simulated agents log in for their shifts, take breaks,
let offers ring (and sometimes miss them: the engine's own timeout re-routes those), handle
contacts for a drawn time, slower with several chats at once, and sometimes transfer them.
Customers give up after their patience, sometimes call back (redial), and come back about
unresolved cases (history routing). Every random draw is keyed (router.simulation.draws).

Callbacks: the router takes them (router/callbacks.py) but simulated customers do not ask
for one yet; ``_abandoned`` is where one who did would keep its place instead of
redialling.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

from router.decisions import (
    Abandoned,
    Assigned,
    Completed,
    Decisions,
    Offered,
    PresenceChanged,
    Transferred,
)
from router.engine import Engine
from router.estimate import WaitEstimator
from router.rules.loader import RuleSet
from router.simulation.draws import Draws
from router.simulation.events import Drawn, Event, Kind
from router.simulation.intake import Intake
from router.simulation.ledger import Ledger
from router.simulation.metrics import ContactOutcome, Report, build_report
from router.simulation.recorded import recorded_kpis
from router.simulation.scenario import Scenario
from router.simulation.trace import read_trace
from router.simulation.traffic import Caller, from_stream, from_trace, next_arrival
from router.states import ContactState, Presence
from skills.vocabulary import AgentProfile


class Simulation:
    def __init__(self, rules: RuleSet, scenario: Scenario) -> None:
        self.scenario = scenario
        self.config = rules.config
        self.engine = Engine(rules.config, id_prefix="s")
        self.draws = Draws(scenario.seed)
        self.intake = Intake(rules, self.draws)
        self.ledger = Ledger(scenario.warm_up_seconds, scenario.duration)
        self.events: list[Event] = []
        self.seq = 0
        self.now = 0.0
        self.callers: dict[str, Caller] = {}
        self.contacts: dict[str, ContactOutcome] = {}
        self.upset: set[str] = set()
        self.offers_made: dict[str, int] = {}
        self.assignments: dict[str, int] = {}
        self.on_break: set[str] = set()
        self.shift_over: set[str] = set()
        self.drawn: dict[str, Drawn] = {}  # what each contact brought (to write a trace)
        self.estimator = WaitEstimator()  # the live wait estimate, checked against the waits

    # ---------------------------------------------------------------- plumbing

    def at(self, when: float, kind: Kind, subject: Any) -> None:
        self.seq += 1
        heapq.heappush(self.events, Event(when, self.seq, kind, subject))

    def run(self, progress: Callable[[float], None] | None = None) -> Report:
        end = self.scenario.duration
        self._staff()
        self._traffic()
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

    def _staff(self) -> None:
        for group_index, group in enumerate(self.scenario.agents):
            shift = group.shift
            for n in range(group.count):
                agent_id = f"{group.name}{group_index}-{n}"
                profile = AgentProfile(
                    agent_id,
                    agent_id,
                    dict(group.skills),
                    frozenset(group.languages),
                    dict(group.capacity),
                )
                self.engine.upsert_agent(profile, 0.0)
                self.at(shift.start, Kind.SHIFT_START, agent_id)
                for pause in shift.breaks:
                    self.at(pause.start, Kind.BREAK_START, agent_id)
                    self.at(pause.start + pause.length, Kind.BREAK_END, agent_id)
                if shift.end < self.scenario.duration:
                    self.at(shift.end, Kind.SHIFT_END, agent_id)

    def _traffic(self) -> None:
        for index, stream in enumerate(self.scenario.arrivals):
            self.at(next_arrival(stream, index, 0, 0.0, self.draws), Kind.ARRIVAL, (index, 0))
        if self.scenario.trace is not None:
            for row in read_trace(self.scenario.trace):
                if row.arrival <= self.scenario.duration:
                    self.at(row.arrival, Kind.CALLER, from_trace(row))

    # ------------------------------------------------------------------ events

    def fire(self, event: Event) -> None:
        kind, subject = event.kind, event.subject
        if kind is Kind.ARRIVAL:
            index, n = subject
            stream = self.scenario.arrivals[index]
            following = next_arrival(stream, index, n + 1, self.now, self.draws)
            self.at(following, Kind.ARRIVAL, (index, n + 1))
            self.arrive(from_stream(index, n, stream))
        elif kind is Kind.CALLER:
            self.arrive(subject)
        elif kind is Kind.RING:
            agent_id, offer_id = subject
            if offer_id in self.engine.offers:  # not revoked or timed out meanwhile
                self.handle(self.engine.accept(agent_id, offer_id, self.now))
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
        else:
            self._roster(kind, subject)

    def _roster(self, kind: Kind, agent_id: str) -> None:
        agent = self.engine.agents[agent_id]
        if kind is Kind.SHIFT_START:
            self.ledger.login(agent_id, self.now, agent.capacity)
            if agent_id not in self.on_break:
                self.handle(self.engine.set_presence(agent_id, Presence.AVAILABLE, self.now))
        elif kind is Kind.SHIFT_END:
            self.shift_over.add(agent_id)
            if agent.presence is not Presence.OFFLINE:
                self.handle(
                    self.engine.set_presence(agent_id, Presence.AWAY, self.now, "shift over")
                )
            self.release(agent_id)
        elif kind is Kind.BREAK_START:
            self.on_break.add(agent_id)
            if agent.presence in (Presence.AVAILABLE, Presence.WRAP_UP):
                self.handle(self.engine.set_presence(agent_id, Presence.AWAY, self.now, "break"))
            self.release(agent_id)
        elif kind is Kind.BREAK_END:
            self.on_break.discard(agent_id)
            if agent_id not in self.shift_over and agent.presence is Presence.AWAY:
                self.ledger.login(agent_id, self.now, agent.capacity)
                self.handle(self.engine.set_presence(agent_id, Presence.AVAILABLE, self.now))
        elif (  # back from "not ready" after missed offers
            kind is Kind.READY
            and agent.presence is Presence.AWAY
            and agent_id not in self.on_break
            and agent_id not in self.shift_over
        ):
            self.handle(self.engine.set_presence(agent_id, Presence.AVAILABLE, self.now))

    def arrive(self, caller: Caller) -> None:
        admitted = self.intake.admit(caller, self.now)
        contact_id = caller.key
        outcome = admitted.outcome
        self.callers[contact_id] = caller
        self.contacts[contact_id] = outcome
        if admitted.upset:
            self.upset.add(contact_id)
        if outcome.preferred is not None:
            agent = self.engine.agents.get(outcome.preferred)
            if (
                agent is not None
                and agent.presence is Presence.AVAILABLE
                and agent.free_on(caller.channel)
            ):
                self.ledger.freed(outcome.preferred, self.now)
        patience = self._patience(caller, admitted.upset)
        self.drawn[contact_id] = Drawn(patience=patience)
        self.handle(self.engine.add_contact(admitted.contact, self.now))
        live = self.engine.contacts.get(contact_id)
        if live is not None:  # what the customer would be told now
            outcome.estimate = self.estimator.for_contact(self.engine, live, self.now).seconds
            outcome.queued_at_arrival = live.state is ContactState.QUEUED
            self._overflow_on_estimate(live.contact_id, live.policy.queue, outcome.estimate)
        if patience is not None and contact_id in self.engine.contacts:
            self.at(self.now + patience, Kind.ABANDON, contact_id)

    def _overflow_on_estimate(self, contact_id: str, queue: str, wait: float | None) -> None:
        """As the live intake does: a queue's ``wait_above`` overflow rule, at arrival."""
        for index, rule in enumerate(self.config.queues[queue].overflow):
            if rule.wait_above is not None and (wait is None or wait > rule.wait_above):
                self.handle(self.engine.overflow_now(contact_id, index, self.now))
                return

    def _patience(self, caller: Caller, upset: bool) -> float | None:
        if caller.row is not None and caller.row.patience is not None:
            return caller.row.patience
        dist = self.scenario.patience.get(caller.channel)
        if dist is None:
            return None
        patience = dist.sample(self.draws.uniform(caller.key, "patience"))
        return patience * self.scenario.upset_patience if upset else patience

    # --------------------------------------------------------------- decisions

    def handle(self, decisions: Decisions) -> None:
        pending = list(decisions)
        while pending:
            decision = pending.pop(0)
            self.estimator.observe(self.now, (decision,), self.engine)
            if isinstance(decision, Offered):
                pending.extend(self._offered(decision))
            elif isinstance(decision, Assigned):
                self._assigned(decision)
            elif isinstance(decision, Abandoned):
                self._abandoned(decision.contact_id)
            elif isinstance(decision, Completed | Transferred):
                agent_id = self.ledger.drop(decision.contact_id, self.now)
                if agent_id is not None and self._available(agent_id):
                    self.ledger.freed(agent_id, self.now)
            elif isinstance(decision, PresenceChanged):
                self._presence(decision)

    def _available(self, agent_id: str) -> bool:
        return self.engine.agents[agent_id].presence is Presence.AVAILABLE

    def _offered(self, offer: Offered) -> Decisions:
        key = self.callers[offer.contact_id].key
        n = self.offers_made.get(offer.contact_id, 0)
        self.offers_made[offer.contact_id] = n + 1
        if self.draws.chance(self.scenario.missed_offers, key, "missed", n):
            return Decisions()  # left ringing: the engine's offer timeout re-routes it
        ring = self.scenario.ring_time.get(offer.channel)
        delay = ring.sample(self.draws.uniform(key, "ring", n)) if ring is not None else 0.0
        if delay <= 0:
            return self.engine.accept(offer.agent_id, offer.offer_id, self.now)
        self.at(self.now + delay, Kind.RING, (offer.agent_id, offer.offer_id))
        return Decisions()

    def _assigned(self, decision: Assigned) -> None:
        contact_id, agent_id = decision.contact_id, decision.agent_id
        outcome = self.contacts[contact_id]
        caller = self.callers[contact_id]
        if outcome.answered_at is None:
            outcome.answered_at = self.now
            outcome.agent = agent_id
        n = self.assignments.get(contact_id, 0)
        self.assignments[contact_id] = n + 1
        row = caller.row
        if row is not None and row.handle_time is not None and n == 0:
            handle = row.handle_time  # as recorded, slowdowns included
        else:
            queue = self.engine.contacts[contact_id].policy.queue
            dist = self.scenario.handle_distribution(caller.channel, queue, caller.intent)
            handle = dist.sample(self.draws.uniform(caller.key, "handle", n))
            slowdown = self.scenario.concurrency_slowdown.get(caller.channel, 0.0)
            if slowdown > 0:  # fixed at the start, by the contacts in hand then
                together = self.engine.agents[agent_id].used(caller.channel)
                handle *= 1 + slowdown * max(0, together - 1)
        if n == 0:
            self.drawn[contact_id].handle_time = handle
        self.ledger.hold(contact_id, agent_id, caller.channel, self.now)
        self.at(self.now + handle, Kind.DONE, (contact_id, agent_id))

    def _abandoned(self, contact_id: str) -> None:
        self.contacts[contact_id].abandoned_at = self.now
        caller = self.callers[contact_id]
        redial = self.scenario.redial
        if caller.stream is not None and self.draws.chance(
            redial.probability, caller.key, "redial"
        ):
            later = self.draws.exponential(redial.after, caller.key, "redial_after")
            self.at(self.now + later, Kind.CALLER, caller.again("redial"))

    def _presence(self, change: PresenceChanged) -> None:
        if change.presence is Presence.AVAILABLE:
            self.ledger.freed(change.agent_id, self.now)
        elif change.presence is Presence.AWAY and change.reason.startswith("not ready"):
            self.at(self.now + self.scenario.not_ready_for, Kind.READY, change.agent_id)

    # ------------------------------------------------------------ end of work

    def finish(self, contact_id: str, agent_id: str) -> None:
        outcome = self.contacts[contact_id]
        live = self.engine.contacts.get(contact_id)
        if live is None or live.agent_id != agent_id:
            return
        caller = self.callers[contact_id]
        key, scenario = caller.key, self.scenario
        if outcome.transfers == 0 and self.draws.chance(scenario.transfer_share, key, "transfer"):
            target = self._other_queue(outcome.queue, key)
            if target is not None:
                outcome.transfers += 1
                self.handle(self.engine.transfer(agent_id, contact_id, self.now, queue=target))
                self.release(agent_id)
                return
        row = caller.row
        if row is not None and row.resolved is not None:
            resolved = row.resolved
        else:
            resolved = self.draws.chance(scenario.resolution_rate, key, "resolved")
        self.drawn[contact_id].resolved = resolved
        self.intake.handled(outcome.customer, agent_id, live.policy.queue, resolved)
        if (
            not resolved
            and caller.stream is not None
            and self.draws.chance(scenario.repeat.share, key, "repeat")
        ):
            later = self.draws.exponential(scenario.repeat.after, key, "repeat_after")
            self.at(self.now + later, Kind.CALLER, caller.again("repeat"))
        work = scenario.after_contact_work.get(outcome.channel, 0.0)
        if work > 0:
            self.handle(self.engine.end_contact(contact_id, self.now, "agent", agent_id))
            self.at(self.now + work, Kind.WRAPPED, (contact_id, agent_id, resolved))
            return
        self.handle(
            self.engine.wrap_up(
                agent_id, contact_id, self.now, outcome="simulated", resolved=resolved
            )
        )
        self.release(agent_id)

    def release(self, agent_id: str) -> None:
        """Off shift or on a break: the agent leaves once its last contact is done."""
        agent = self.engine.agents[agent_id]
        if agent.busy_channels():
            return
        if agent_id in self.shift_over and agent.presence is not Presence.OFFLINE:
            self.handle(self.engine.set_presence(agent_id, Presence.OFFLINE, self.now))
            self.ledger.logout(agent_id, self.now)
        elif agent_id in self.on_break:
            self.ledger.logout(agent_id, self.now)

    def _other_queue(self, current: str, key: str) -> str | None:
        choices = sorted(q for q in self.config.queues if q != current)
        if not choices:
            return None
        pick = self.draws.uniform(key, "transfer_to")
        return choices[min(len(choices) - 1, int(pick * len(choices)))]

    # ------------------------------------------------------------------ report

    def report(self) -> Report:
        end = self.scenario.duration
        usage = self.ledger.close(end)
        for outcome in self.contacts.values():
            if outcome.preferred is None:
                continue
            until = outcome.arrival + outcome.preferred_wait
            if outcome.abandoned_at is not None:
                until = min(until, outcome.abandoned_at)
            outcome.preferred_reachable = self.ledger.freed_between(
                outcome.preferred, outcome.arrival, until
            )
        report = build_report(
            self.config, list(self.contacts.values()), end, self.scenario.warm_up_seconds, usage
        )
        if self.scenario.trace is not None:
            queues = {contact_id: o.queue for contact_id, o in self.contacts.items()}
            rows = read_trace(self.scenario.trace)
            report.recorded = recorded_kpis(self.config, rows, queues)
        return report


def simulate(
    rules: RuleSet, scenario: Scenario, progress: Callable[[float], None] | None = None
) -> Report:
    return Simulation(rules, scenario).run(progress)
