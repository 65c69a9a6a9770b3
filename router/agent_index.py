"""Agents indexed by skill and by free capacity per channel.

A contact looking for an agent intersects "free on this channel" with "holds this skill",
and goes through the free agents by profile (router/free_agents.py); it never scans every
agent.
"""

from __future__ import annotations

from collections.abc import Iterable

from router.free_agents import FreeAgents, ProfileGroup
from router.models import Agent, Requirements
from router.states import Presence
from skills.vocabulary import Channel


class AgentIndex:
    def __init__(self) -> None:
        self.free: dict[Channel, set[str]] = {channel: set() for channel in Channel}
        self.by_skill: dict[str, set[str]] = {}
        self.free_by_profile = FreeAgents()

    def add_profile(self, agent: Agent) -> None:
        for skill in agent.profile.skills:
            self.by_skill.setdefault(skill, set()).add(agent.agent_id)

    def remove_profile(self, agent: Agent) -> None:
        for skill in agent.profile.skills:
            holders = self.by_skill.get(skill)
            if holders is not None:
                holders.discard(agent.agent_id)
        for channel, free in self.free.items():
            free.discard(agent.agent_id)
            self.free_by_profile.leave(channel, agent.agent_id)
        self.free_by_profile.forget(agent.agent_id)

    def refresh(self, agent: Agent) -> set[Channel]:
        """Recompute where the agent can take work now; returns those channels."""
        routable = agent.presence is Presence.AVAILABLE
        open_channels: set[Channel] = set()
        for channel, free in self.free.items():
            if routable and agent.free_on(channel):
                free.add(agent.agent_id)
                self.free_by_profile.enter(channel, agent)
                open_channels.add(channel)
            else:
                free.discard(agent.agent_id)
                self.free_by_profile.leave(channel, agent.agent_id)
        return open_channels

    def candidates(self, channel: Channel, requirements: Requirements) -> Iterable[str]:
        """Agent ids free on the channel holding the rarest required skill (a superset)."""
        pool = self.free[channel]
        for skill, _level in requirements:
            holders = self.by_skill.get(skill)
            if not holders:
                return ()
            if len(holders) < len(pool):
                pool = holders
        return pool

    def candidate_groups(self, channel: Channel, requirements: Requirements) -> list[ProfileGroup]:
        """The free agents ``candidates`` gives, as groups of one profile: where the rarest
        required skill has fewer holders than the channel has free agents, only the groups
        holding that skill (as ``candidates`` walks only its holders)."""
        pool = len(self.free[channel])
        rarest: str | None = None
        for skill, _level in requirements:
            holders = self.by_skill.get(skill)
            if not holders:
                return []
            if len(holders) < pool:
                pool, rarest = len(holders), skill
        groups = self.free_by_profile.groups(channel)
        if rarest is None:
            return list(groups)
        return [group for group in groups if rarest in group.profile.skills]
