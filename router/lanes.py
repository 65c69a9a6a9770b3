"""Priority lanes: waiting contacts indexed by exactly what they need.

A lane holds the contacts of one queue and channel that need the same skills at the same
levels (the current bullseye step) and the same language. Lanes are indexed by their first
required skill, so an agent who becomes free looks only at lanes it could serve, and inside
a lane takes the head of a heap: the cost does not grow with unrelated waiting contacts.
Removal is lazy: an entry is live only while the contact still points at it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from router.models import Contact, Requirements
from router.states import ContactState
from skills.vocabulary import AgentProfile, Channel

LaneKey = tuple[str, Channel, Requirements, str | None]
"""(queue, channel, requirements at the current step, language or None)."""

_ANY_SKILL = ""


@dataclass(slots=True)
class Lane:
    key: LaneKey
    rate: float
    heap: list[tuple[float, float, int, str]] = field(default_factory=list)
    size: int = 0

    @property
    def queue(self) -> str:
        return self.key[0]

    @property
    def channel(self) -> Channel:
        return self.key[1]

    @property
    def requirements(self) -> Requirements:
        return self.key[2]

    @property
    def language(self) -> str | None:
        return self.key[3]

    def push(self, contact: Contact) -> None:
        order = -(contact.static_priority - self.rate * contact.arrival)
        heapq.heappush(self.heap, (order, contact.arrival, contact.heap_seq, contact.contact_id))
        self.size += 1

    def push_overflow(self, contact: Contact) -> None:
        """An entry for a contact of another queue that overflows here (negative seq)."""
        order = -(contact.overflow_static - self.rate * contact.arrival)
        entry = (order, contact.arrival, -contact.overflow_seq, contact.contact_id)
        heapq.heappush(self.heap, entry)
        self.size += 1

    def _live(self, entry: tuple[float, float, int, str], contacts: dict[str, Contact]) -> bool:
        contact = contacts.get(entry[3])
        if contact is None or contact.state is not ContactState.QUEUED:
            return False
        if entry[2] < 0:
            return contact.overflow_lane == self.key and contact.overflow_seq == -entry[2]
        return contact.lane == self.key and contact.heap_seq == entry[2]

    def priority_of(self, contact: Contact, now: float) -> float:
        """Its priority in this lane: an overflowing contact ranks with its overflow one."""
        static = contact.static_priority
        if contact.lane != self.key and contact.overflow_lane == self.key:
            static = contact.overflow_static
        return static + self.rate * (now - contact.arrival)

    def best(
        self, contacts: dict[str, Contact], accept: Callable[[Contact], bool]
    ) -> Contact | None:
        """The highest-priority live contact that ``accept`` allows, left in place."""
        heap = self.heap
        skipped: list[tuple[float, float, int, str]] = []
        found: Contact | None = None
        while heap:
            entry = heap[0]
            if not self._live(entry, contacts):
                heapq.heappop(heap)
                continue
            contact = contacts[entry[3]]
            if accept(contact):
                found = contact
                break
            skipped.append(heapq.heappop(heap))
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found


class LaneIndex:
    def __init__(self) -> None:
        self.lanes: dict[LaneKey, Lane] = {}
        self._by_skill: dict[str, set[LaneKey]] = {}

    def lane(self, key: LaneKey, rate: float) -> Lane:
        lane = self.lanes.get(key)
        if lane is None:
            lane = self.lanes[key] = Lane(key, rate)
            first_skill = key[2][0][0] if key[2] else _ANY_SKILL
            self._by_skill.setdefault(first_skill, set()).add(key)
        return lane

    def enter(self, contact: Contact, key: LaneKey, rate: float) -> None:
        contact.heap_seq += 1
        contact.lane = key
        self.lane(key, rate).push(contact)

    def leave(self, contact: Contact) -> None:
        if contact.lane is not None:
            lane = self.lanes.get(contact.lane)
            if lane is not None:
                lane.size -= 1
                if lane.size == 0:
                    lane.heap.clear()
            contact.lane = None

    def enter_overflow(self, contact: Contact, key: LaneKey, rate: float, static: float) -> None:
        self.leave_overflow(contact)
        contact.overflow_seq += 1
        contact.overflow_lane = key
        contact.overflow_static = static
        self.lane(key, rate).push_overflow(contact)

    def leave_overflow(self, contact: Contact) -> None:
        if contact.overflow_lane is not None:
            lane = self.lanes.get(contact.overflow_lane)
            if lane is not None:
                lane.size -= 1
                if lane.size == 0:
                    lane.heap.clear()
            contact.overflow_lane = None

    def lanes_for(self, profile: AgentProfile, channels: set[Channel]) -> Iterator[Lane]:
        """Non-empty lanes on these channels whose needs the agent meets."""
        lanes = self.lanes
        for skill in (*profile.skills, _ANY_SKILL):
            for key in self._by_skill.get(skill, ()):
                lane = lanes[key]
                if (
                    lane.size > 0
                    and key[1] in channels
                    and profile.meets(key[2])
                    and profile.speaks(key[3])
                ):
                    yield lane
