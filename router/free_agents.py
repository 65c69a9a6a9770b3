"""Free agents per channel, grouped by profile and ordered by how long they have waited.

Looking for the best free agent for a contact used to walk every free holder of the
required skill: with 2,000 agents sharing a skill, 2,000 profile checks per arrival (about
10 ms on the development VM, most of the router's time at half load). Agents of one
profile (the same skills at the same levels, the same languages) pass or fail a contact's
requirements together, so the search checks each profile once, and within a profile that
passes takes the longest-waiting agents from a heap instead of comparing every one.

A group's heaps are lazy: an entry ``(since, agent_id)`` is pushed whenever an agent joins
the group or its ``idle_since`` / ``last_offer_at`` changes (``AgentIndex.refresh`` runs
after every such change); entries that no longer match the member's values are dropped
when they come to the top, and a heap grown well past its group is rebuilt from them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from router.models import Agent
from skills.vocabulary import AgentProfile, Channel

ProfileKey = tuple[tuple[tuple[str, int], ...], frozenset[str]]
SINCE_FIELDS = ("idle_since", "last_offer_at")


def profile_key(profile: AgentProfile) -> ProfileKey:
    return tuple(sorted(profile.skills.items())), profile.languages


@dataclass(slots=True)
class ProfileGroup:
    """The free agents of one profile on one channel."""

    profile: AgentProfile  # any member's: they all route alike
    # member -> its (idle_since, last_offer_at) when it last entered or changed
    members: dict[str, tuple[float, float]] = field(default_factory=dict)
    heaps: tuple[list[tuple[float, str]], ...] = field(
        default_factory=lambda: tuple([] for _ in SINCE_FIELDS)
    )

    def put(self, agent_id: str, since: tuple[float, float]) -> None:
        self.members[agent_id] = since
        for field_index, heap in enumerate(self.heaps):
            heapq.heappush(heap, (since[field_index], agent_id))
            if len(heap) > 2 * len(self.members) + 64:  # mostly stale entries: start afresh
                heap[:] = [(values[field_index], a) for a, values in self.members.items()]
                heapq.heapify(heap)

    def longest_waiting(
        self,
        since: str,
        agents: dict[str, Agent],
        count: int,
        skip: Callable[[str], bool],
        usable: Callable[[Agent], bool],
    ) -> list[tuple[float, str]]:
        """Up to ``count`` members by ``since`` (oldest first), leaving out ``skip`` and
        those not ``usable`` now (an agent going away is routed around before the index
        hears of it)."""
        field_index = SINCE_FIELDS.index(since)
        heap = self.heaps[field_index]
        taken: list[tuple[float, str]] = []
        put_back: list[tuple[float, str]] = []
        seen: set[str] = set()
        while heap and len(taken) < count:
            entry = heapq.heappop(heap)
            value, agent_id = entry
            current = self.members.get(agent_id)
            if current is None or current[field_index] != value or agent_id in seen:
                continue  # stale: the agent left the group, or waits since another time
            seen.add(agent_id)
            put_back.append(entry)
            agent = agents.get(agent_id)
            if agent is not None and not skip(agent_id) and usable(agent):
                taken.append(entry)
        for entry in put_back:
            heapq.heappush(heap, entry)
        return taken


class FreeAgents:
    """Per channel, the free agents grouped by profile (kept by AgentIndex)."""

    def __init__(self) -> None:
        self._groups: dict[Channel, dict[ProfileKey, ProfileGroup]] = {c: {} for c in Channel}
        self._where: dict[tuple[Channel, str], ProfileKey] = {}  # the group of each member
        # agent id -> its profile and that profile's key: ``enter`` runs for every channel
        # at every change of an agent (eleven times a contact taken through a desktop), and
        # a profile changes only when the agent is edited (a new AgentProfile)
        self._keys: dict[str, tuple[AgentProfile, ProfileKey]] = {}

    def enter(self, channel: Channel, agent: Agent) -> None:
        key = self._key(agent.profile)
        since = (agent.idle_since, agent.last_offer_at)
        where = self._where.get((channel, agent.agent_id))
        groups = self._groups[channel]
        if where is not None and where != key:
            self.leave(channel, agent.agent_id)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ProfileGroup(agent.profile)
        elif group.members.get(agent.agent_id) == since:
            return  # nothing changed
        group.put(agent.agent_id, since)
        self._where[(channel, agent.agent_id)] = key

    def _key(self, profile: AgentProfile) -> ProfileKey:
        known = self._keys.get(profile.agent_id)
        if known is not None and known[0] is profile:
            return known[1]
        key = profile_key(profile)
        self._keys[profile.agent_id] = (profile, key)
        return key

    def forget(self, agent_id: str) -> None:
        """Drop the agent's cached profile key (its profile is being replaced: the old one
        need not be kept alive until the agent next enters)."""
        self._keys.pop(agent_id, None)

    def leave(self, channel: Channel, agent_id: str) -> None:
        where = self._where.pop((channel, agent_id), None)
        if where is None:
            return
        groups = self._groups[channel]
        group = groups.get(where)
        if group is not None:
            group.members.pop(agent_id, None)
            if not group.members:
                del groups[where]

    def groups(self, channel: Channel) -> Iterator[ProfileGroup]:
        return iter(list(self._groups[channel].values()))
