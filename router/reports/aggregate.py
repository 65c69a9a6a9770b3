"""One interval's figures from what was committed: contacts, their routing events, agent
state changes and feedback. Pure (no I/O, no clock): the same inputs give the same
figures, which the tests check exactly. Definitions are router/kpis.py's.

Each event counts in the interval where it happened: an answer, an abandon, the end of a
handling (with its handle time), a transfer, a survey answer. A contact is offered in the
interval it arrived, in the queue it was first routed to. Time-based figures (time in
state, busy time) are the parts of the interval up to ``until`` (now, for the interval in
progress).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from router.kpis import Counts
from router.rules.model import RoutingConfig
from skills.vocabulary import Channel

INTERVAL = 900.0  # seconds: 15-minute intervals, aligned on the epoch (so on every hour)
GroupKey = tuple[str, str, str]  # queue, channel, agent ("" when no agent)
TimeKey = tuple[str, str, str]  # agent, state, code

# after an answer, any of these means the agent no longer holds the contact
ENDS_HOLDING = frozenset(
    {
        "completed",
        "transferred",
        "queued",
        "offered",
        "abandoned",
        "supervisor_reassign",
        "supervisor_pull",
    }
)


def interval_start(at: float) -> float:
    return at - at % INTERVAL


@dataclass(frozen=True, slots=True)
class ContactFacts:
    contact_id: str
    channel: str
    queue: str  # its queue now (the fallback when events do not say)
    arrival: float


@dataclass(frozen=True, slots=True)
class EventFacts:
    contact_id: str
    at: float
    kind: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StateFacts:
    agent_id: str
    at: float
    presence: str
    code: str = ""


@dataclass(frozen=True, slots=True)
class FeedbackFacts:
    agent_id: str
    queue: str
    channel: str
    at: float
    csat: int | None
    nps: int | None


@dataclass
class Inputs:
    """What one interval needs: every contact live during it with all its events before its
    end (in commit order), the state in force at its start per agent, the state changes
    within it, and the feedback given within it."""

    contacts: dict[str, ContactFacts] = field(default_factory=dict)
    events: list[EventFacts] = field(default_factory=list)
    states_before: dict[str, StateFacts] = field(default_factory=dict)
    states: list[StateFacts] = field(default_factory=list)
    feedback: list[FeedbackFacts] = field(default_factory=list)


@dataclass
class IntervalFigures:
    counts: dict[GroupKey, Counts] = field(default_factory=dict)
    time: dict[TimeKey, float] = field(default_factory=dict)


def _queue_of(detail: dict[str, Any]) -> str | None:
    queue = detail.get("queue")
    if isinstance(queue, str):
        return queue
    explanation = detail.get("explanation")
    if isinstance(explanation, dict) and isinstance(explanation.get("queue"), str):
        return str(explanation["queue"])
    return None


def _union(spans: Iterable[tuple[float, float]]) -> float:
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(spans):
        begin = max(begin, reach)
        if end > begin:
            total += end - begin
            reach = end
    return total


def aggregate(start: float, until: float, inputs: Inputs, config: RoutingConfig) -> IntervalFigures:
    """Figures of the interval [start, start + INTERVAL), time-based ones up to ``until``."""
    end = start + INTERVAL
    until = min(max(until, start), end)
    figures = IntervalFigures()
    counts: dict[GroupKey, Counts] = defaultdict(Counts)
    busy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    by_contact: dict[str, list[EventFacts]] = defaultdict(list)
    for event in inputs.events:
        by_contact[event.contact_id].append(event)

    def inside(at: float) -> bool:
        return start <= at < end

    for contact_id, facts in inputs.contacts.items():
        channel = facts.channel
        queue: str | None = None
        first_queue: str | None = None
        answered = False
        holding: tuple[str, float, str] | None = None  # agent, since, queue
        for event in by_contact.get(contact_id, ()):
            detail = event.detail
            if holding is not None and event.kind in ENDS_HOLDING:
                agent, since, held_in = holding
                if inside(event.at):
                    counts[(held_in, channel, agent)].handle(event.at - since)
                busy[agent].append((since, event.at))
                holding = None
            current = queue or facts.queue
            if event.kind == "transferred" and inside(event.at):
                counts[(current, channel, str(detail.get("from_agent", "")))].transfers += 1
            named = _queue_of(detail)
            if named is not None:
                queue = named
                first_queue = first_queue or named
                current = named
            if event.kind == "assigned":
                agent = str(detail.get("agent_id", ""))
                if not answered:
                    answered = True
                    if inside(event.at):
                        threshold = config.sla_for(current, Channel(channel)).threshold
                        wait = float(detail.get("waited_seconds", event.at - facts.arrival))
                        counts[(current, channel, agent)].answer(wait, threshold)
                holding = (agent, event.at, current)
            elif event.kind == "abandoned" and inside(event.at):
                waited = float(detail.get("waited_seconds", event.at - facts.arrival))
                counts[(current, channel, "")].abandon(waited, config.reports.short_abandon)
        if holding is not None:
            busy[holding[0]].append((holding[1], until))
        if inside(facts.arrival):
            counts[(first_queue or facts.queue, channel, "")].offered += 1

    for feedback in inputs.feedback:
        if inside(feedback.at):
            key = (feedback.queue, feedback.channel, feedback.agent_id)
            counts[key].feedback(feedback.csat, feedback.nps)

    figures.counts = dict(counts)
    figures.time = _state_time(start, until, inputs.states_before, inputs.states)
    for agent, spans in busy.items():
        seconds = _union((max(b, start), min(e, until)) for b, e in spans)
        if seconds > 0:
            figures.time[(agent, "busy", "")] = seconds
    return figures


def _state_time(
    start: float, until: float, before: dict[str, StateFacts], changes: Sequence[StateFacts]
) -> dict[TimeKey, float]:
    """Seconds per agent, presence and code; offline time is not counted."""
    time: dict[TimeKey, float] = defaultdict(float)
    by_agent: dict[str, list[StateFacts]] = defaultdict(list)
    for state in changes:
        by_agent[state.agent_id].append(state)
    for agent in set(before) | set(by_agent):
        current: StateFacts | None = before.get(agent)
        since = start
        sequence: list[StateFacts | None] = [*by_agent.get(agent, []), None]
        for change in sequence:
            at = until if change is None else min(max(change.at, start), until)
            if current is not None and current.presence != "offline" and at > since:
                time[(agent, current.presence, current.code)] += at - since
            if change is not None:
                current, since = change, max(since, at)
    return dict(time)
