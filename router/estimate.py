"""Estimated wait per queue and channel, from the live state: the contact's position, the
agents who could serve it, and recent handle times.

    wait ≈ max(0, ahead + 1 − free slots) × handle time / slots

``ahead``: queued contacts of the same queue and channel that would be served first
(higher priority now; offered ones already hold a slot). ``slots``: the channel capacity
of the agents who hold the skills and are available or in wrap-up. ``free slots``: what
the available ones have free now. ``handle time``: the mean of the last ``WINDOW``
contacts of that queue and channel handled (accept to completion, wrap-up included), or
the channel's default until there are some. Pure: the caller passes ``now``. The
simulator measures this estimate against the wait actually experienced (docs/simulator.md).
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from router.decisions import Abandoned, Assigned, Completed, Decision, Transferred
from router.engine import Engine
from router.lanes import Lane, LaneKey
from router.models import Contact, Requirements
from router.states import ContactState, Presence
from skills.vocabulary import Channel

WINDOW = 50
DEFAULT_HANDLE: dict[Channel, float] = {
    Channel.VOICE: 300.0,
    Channel.CHAT: 600.0,
    Channel.SOCIAL: 900.0,
    Channel.EMAIL: 900.0,
}
"""Handle time assumed before a queue and channel has handled anything."""

LONG_QUEUE = 50
"""Past this many waiting in a queue and channel, who is ahead is counted on a snapshot of
their priorities taken at most SNAPSHOT_AGE seconds ago (sorted: a bisection per
arrival), not by going through every one of them for each arrival: the walk took 0.1–0.3
ms an arrival with 500 waiting (timed twice on the twenty-ninth session's VM, with other
work beside it), where the rest of a contact's intake took about 0.9 ms; counted, an
arrival behind 220–520 waiting does a quarter fewer instructions without it
(bench/instructions.py --waiting 200). Up to here the count
is exact (a customer told "3 ahead" is told true). Past it, the contacts that arrive after
the snapshot are added to it as they are estimated, so a burst of arrivals counts one
another; those answered meanwhile are still counted: at most a second's worth of answered
contacts too many."""
SNAPSHOT_AGE = 1.0

MANY_AGENTS = 200
"""Past this many holders of a queue's first skill, the slots of those who could serve it
are counted at most SNAPSHOT_AGE seconds ago (per channel and skill floors), not by going
through every one of them for each arrival (2,000 agents: 0.6 ms per arrival)."""

SERVING = (Presence.AVAILABLE, Presence.WRAP_UP)
"""Agents counted as serving: on a break or offline they are not."""


@dataclass(frozen=True, slots=True)
class Estimate:
    seconds: float | None  # None: nobody logged in could serve it
    ahead: int
    slots: int
    free: int
    handle_time: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "ahead": self.ahead,
            "agent_slots": self.slots,
            "free_slots": self.free,
            "handle_time": round(self.handle_time, 1),
        }


@dataclass(slots=True)
class Snapshot:
    """The sorted priorities, at ``taken``, of the contacts waiting in a long queue, and
    of those that arrived since and were estimated (``added``)."""

    taken: float
    priorities: list[float]
    added: set[str] = field(default_factory=set)

    def ahead_of(self, contact: Contact, priority: float) -> int:
        """How many in it rank above ``priority``; a contact that arrived after it was
        taken is added, so the arrivals after it count it."""
        ahead = len(self.priorities) - bisect_right(self.priorities, priority)
        if contact.arrival > self.taken and contact.contact_id not in self.added:
            self.added.add(contact.contact_id)
            insort(self.priorities, priority)
        return ahead


class WaitEstimator:
    """Keeps recent handle times (fed with the engine's decisions) and estimates waits."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._handles: dict[tuple[str, Channel], deque[float]] = {}
        self._started: dict[str, tuple[float, str, Channel]] = {}
        self._snapshots: dict[tuple[str, Channel], Snapshot] = {}
        self._capacities: dict[tuple[Channel, Requirements], tuple[float, tuple[int, int]]] = {}

    def observe(self, now: float, decisions: Iterable[Decision], engine: Engine) -> None:
        for decision in decisions:
            if isinstance(decision, Assigned):
                contact = engine.contacts.get(decision.contact_id)
                if contact is not None:
                    self._started[decision.contact_id] = (
                        now,
                        contact.policy.queue,
                        contact.channel,
                    )
            elif isinstance(decision, Completed):
                started = self._started.pop(decision.contact_id, None)
                if started is not None:
                    self.record(started[1], started[2], now - started[0])
            elif isinstance(decision, Transferred | Abandoned):
                self._started.pop(decision.contact_id, None)

    def record(self, queue: str, channel: Channel, seconds: float) -> None:
        handles = self._handles.get((queue, channel))
        if handles is None:
            handles = self._handles[(queue, channel)] = deque(maxlen=self.window)
        handles.append(max(0.0, seconds))

    def handle_time(self, queue: str, channel: Channel) -> float:
        handles = self._handles.get((queue, channel))
        if handles:
            return sum(handles) / len(handles)
        return DEFAULT_HANDLE[channel]

    def for_contact(self, engine: Engine, contact: Contact, now: float) -> Estimate:
        """A waiting contact's estimated remaining wait (0 once it is being handled)."""
        queue, channel = contact.policy.queue, contact.channel
        floors = contact.policy.requirements(len(contact.policy.steps) - 1)
        if contact.state is not ContactState.QUEUED:  # offered, or being handled
            return Estimate(0.0, 0, 0, 0, self.handle_time(queue, channel))
        slots, free = self._capacity(engine, channel, floors, now)
        if slots == 0:  # nobody could serve it: no need to count who is ahead
            return Estimate(None, 0, 0, 0, self.handle_time(queue, channel))
        rate = engine.rate(queue, channel)
        snapshot = self._snapshot(engine, queue, channel, now)
        if snapshot is not None:  # a long queue: compare at the snapshot's time
            mine = _priority(contact, rate, snapshot.taken)
            ahead = snapshot.ahead_of(contact, mine)
        else:
            mine = _priority(contact, rate, now)
            ahead = sum(
                1 for p in _waiting_priorities(engine, queue, channel, now, contact) if p > mine
            )
        return self._estimate(queue, channel, ahead, slots, free)

    def _snapshot(
        self, engine: Engine, queue: str, channel: Channel, now: float
    ) -> Snapshot | None:
        """The priorities of those waiting in a long queue (None: not long)."""
        entries = sum(len(lane.heap) for _key, lane in _lanes_of(engine, queue, channel))
        if entries <= LONG_QUEUE:
            return None
        key = (queue, channel)
        snapshot = self._snapshots.get(key)
        if snapshot is None or not 0 <= now - snapshot.taken <= SNAPSHOT_AGE:
            priorities = _waiting_priorities(engine, queue, channel, now, None)
            priorities.sort()
            snapshot = self._snapshots[key] = Snapshot(now, priorities)
        return snapshot

    def _capacity(
        self, engine: Engine, channel: Channel, floors: Requirements, now: float
    ) -> tuple[int, int]:
        """(slots, free slots); with many skill holders, as counted at most SNAPSHOT_AGE
        seconds ago."""
        if not floors or len(engine.index.by_skill.get(floors[0][0], ())) <= MANY_AGENTS:
            return _capacity(engine, channel, floors)
        key = (channel, floors)
        counted = self._capacities.get(key)
        if counted is None or not 0 <= now - counted[0] <= SNAPSHOT_AGE:
            counted = self._capacities[key] = (now, _capacity(engine, channel, floors))
        return counted[1]

    def for_queue(self, engine: Engine, queue: str, channel: Channel) -> Estimate:
        """The wait of a contact arriving now (behind everyone waiting)."""
        spec = engine.config.queues[queue]
        floors = tuple(sorted(spec.skills.items()))
        slots, free = _capacity(engine, channel, floors)
        ahead = len(_waiting_priorities(engine, queue, channel, 0.0, None))
        return self._estimate(queue, channel, ahead, slots, free)

    def _estimate(
        self, queue: str, channel: Channel, ahead: int, slots: int, free: int
    ) -> Estimate:
        handle = self.handle_time(queue, channel)
        if slots == 0:
            return Estimate(None, ahead, 0, 0, handle)
        seconds = max(0, ahead + 1 - free) * handle / slots
        return Estimate(seconds, ahead, slots, free, handle)


def _capacity(engine: Engine, channel: Channel, floors: Requirements) -> tuple[int, int]:
    """(slots, free slots) of the agents who meet the floors and are serving; only the
    holders of the first required skill are looked at (the engine's skill index)."""
    if floors:
        candidates: Iterable[str] = engine.index.by_skill.get(floors[0][0], ())
    else:
        candidates = engine.agents
    slots = free = 0
    for agent_id in candidates:
        agent = engine.agents[agent_id]
        if agent.presence not in SERVING or not agent.profile.meets(floors):
            continue
        capacity = agent.capacity.get(channel, 0)
        slots += capacity
        if agent.presence is Presence.AVAILABLE and agent.free_on(channel):
            free += capacity - agent.used(channel)
    return slots, free


def _priority(contact: Contact, rate: float, now: float) -> float:
    """Its current priority, rounded as ``_waiting_priorities`` rounds the others' (from the
    lane's order ``-(static − rate × arrival)``), so that equal priorities compare equal."""
    return rate * now + (contact.static_priority - rate * contact.arrival)


def _lanes_of(engine: Engine, queue: str, channel: Channel) -> Iterator[tuple[LaneKey, Lane]]:
    """The engine's lanes of one queue and channel (one per requirements and language)."""
    for key, lane in engine.lanes.lanes.items():
        if key[0] == queue and key[1] == channel:
            yield key, lane


def _waiting_priorities(
    engine: Engine, queue: str, channel: Channel, now: float, besides: Contact | None
) -> list[float]:
    """The current priority of every contact queued in this queue and channel (each once),
    read from the engine's lanes of that queue and channel, not from every live contact.

    A long queue's snapshot goes through all of them at once (10,000 in one lane: 15 ms
    with a generator and a method call per contact, 4.5 ms as written here), so this loop
    is kept flat: a contact's live entry is the one whose sequence number it still holds
    (overflow entries, another queue's, have negative ones), and its priority in the lane
    is ``rate × now − order`` (``Lane.priority_of``, from the entry's time-free order)."""
    get = engine.contacts.get
    queued = ContactState.QUEUED
    priorities: list[float] = []
    append = priorities.append
    for key, lane in _lanes_of(engine, queue, channel):
        base = lane.rate * now
        for order, _arrival, seq, contact_id in lane.heap:
            if seq < 0:
                continue
            other = get(contact_id)
            if (
                other is None
                or other.heap_seq != seq
                or other.state is not queued
                or other.lane != key
                or other is besides
            ):
                continue
            append(base - order)
    return priorities
