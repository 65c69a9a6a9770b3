"""The engine's live records: route policies, contacts, agents and offers.

Plain slotted dataclasses (not pydantic): tens of thousands of them live in memory and are
touched on every routing decision. Pydantic models sit at the edges (config, API).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from router.states import ContactState, Presence
from skills.vocabulary import AgentProfile, Channel

Requirements = tuple[tuple[str, int], ...]
STEP_TOLERANCE = 1e-6  # seconds
"""(skill, minimum level) pairs, sorted by skill name."""


@dataclass(frozen=True, slots=True)
class Step:
    """A bullseye ring: from ``after`` seconds of waiting (or ``share`` of the SLA
    threshold, when set), ``min_proficiency`` is enough."""

    after: float
    min_proficiency: int
    share: float | None = None

    def starts(self, threshold: float) -> float:
        return self.share * threshold if self.share is not None else self.after


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    """What a rule decided for a contact, shared by every contact the rule matched.

    ``skills`` are floors: a step never relaxes a skill below its own floor.
    """

    rule: str
    queue: str
    base_priority: float
    skills: Requirements
    match_language: bool
    steps: tuple[Step, ...]
    preferred_wait: float

    def step_at(self, waited: float, threshold: float) -> int:
        """Index of the ring in force after ``waited`` seconds (``threshold``: the contact's
        SLA threshold, for steps written as a share of it).

        A step timer fires at ``arrival + start``, and ``(arrival + start) - arrival`` can
        round to just below ``start``: the tolerance makes the step due then really start.
        """
        index = 0
        for i, step in enumerate(self.steps):
            if waited + STEP_TOLERANCE >= step.starts(threshold):
                index = i
        return index

    def requirements(self, step: int) -> Requirements:
        threshold = self.steps[step].min_proficiency if self.steps else 1
        return tuple((name, max(floor, threshold)) for name, floor in self.skills)

    def ring_of(self, agent: AgentProfile) -> int | None:
        """The narrowest ring whose requirements the agent meets (0 = best), else None."""
        for index in range(len(self.steps)):
            if agent.meets(self.requirements(index)):
                return index
        return None if self.steps else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "queue": self.queue,
            "base_priority": self.base_priority,
            "skills": [list(pair) for pair in self.skills],
            "match_language": self.match_language,
            "steps": [[step.after, step.min_proficiency, step.share] for step in self.steps],
            "preferred_wait": self.preferred_wait,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutePolicy:
        return cls(
            rule=str(data["rule"]),
            queue=str(data["queue"]),
            base_priority=float(data["base_priority"]),
            skills=tuple((str(name), int(level)) for name, level in data["skills"]),
            match_language=bool(data["match_language"]),
            steps=tuple(
                Step(
                    float(step[0]),
                    int(step[1]),
                    None if len(step) < 3 or step[2] is None else float(step[2]),
                )
                for step in data["steps"]
            ),
            preferred_wait=float(data["preferred_wait"]),
        )


@dataclass(frozen=True, slots=True)
class NewContact:
    """A contact handed to the engine, already triaged and matched to a rule."""

    contact_id: str
    channel: Channel
    arrival: float
    policy: RoutePolicy
    customer_id: str | None = None
    language: str | None = None
    urgency: float = 0.0  # 0..1, from triage (emotion, moments of truth)
    history_boost: float = 0.0  # points from history (repeat unresolved, transfers)
    preferred_agent: str | None = None
    transfers: int = 0
    excluded_agents: tuple[str, ...] = ()  # never offered to these (e.g. who transferred it)


@dataclass(slots=True)
class Contact:
    contact_id: str
    channel: Channel
    arrival: float
    policy: RoutePolicy
    customer_id: str | None
    language: str | None
    urgency: float
    history_boost: float
    static_priority: float  # min(cap, rule + urgency + history): fixed while queued
    preferred_agent: str | None
    preferred_until: float  # hold out for the preferred agent until then
    transfers: int
    state: ContactState = ContactState.QUEUED
    step: int = 0
    lane: tuple[Any, ...] | None = None  # key of the lane it waits in, if any
    heap_seq: int = 0  # matches the live heap entry; older entries are stale
    reserved_for: str | None = None  # waiting only for this (preferred) agent
    offer_id: str | None = None
    agent_id: str | None = None  # assigned / wrapping-up agent
    offers_made: int = 0
    # agent id -> until when it is skipped (inf: never, e.g. the agent who transferred it)
    skip_agents: dict[str, float] = field(default_factory=dict)
    held_until: float = 0.0  # out of matching until then (a callback at a chosen time)
    # overflow: also waiting in another queue's lane, with its own static priority there
    overflow_lane: tuple[Any, ...] | None = None
    overflow_seq: int = 0
    overflow_static: float = 0.0

    @property
    def language_needed(self) -> str | None:
        return self.language if self.policy.match_language else None

    def skips(self, agent_id: str, now: float) -> bool:
        until = self.skip_agents.get(agent_id)
        return until is not None and now < until


@dataclass(slots=True)
class Offer:
    offer_id: str
    contact_id: str
    agent_id: str
    channel: Channel
    made_at: float
    expires_at: float


@dataclass(slots=True)
class Agent:
    profile: AgentProfile
    capacity: dict[Channel, int]
    exclusive: frozenset[Channel]
    presence: Presence = Presence.OFFLINE
    presence_reason: str = ""
    presence_code: str = ""  # away reason code from config (agent_states.reasons), if any
    presence_since: float = 0.0  # when the current presence (and code) began
    forced_by: str = ""  # a supervisor who set the current presence, if one did
    state_epoch: int = 0  # bumps on every state change; stale limit timers ignore
    connected: bool = False
    connection_epoch: int = 0  # bumps on every (re)connect; stale disconnect timers ignore
    idle_since: float = 0.0  # when it last finished work or became available
    last_offer_at: float = 0.0  # for round-robin agent choice
    consecutive_misses: int = 0
    # contact ids held per channel: pending offers, assigned and wrapping-up contacts
    load: dict[Channel, set[str]] = field(default_factory=dict)
    offers: dict[str, Offer] = field(default_factory=dict)
    wrap_ups: set[str] = field(default_factory=set)

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    def used(self, channel: Channel) -> int:
        held = self.load.get(channel)
        return len(held) if held else 0

    def busy_channels(self) -> list[Channel]:
        return [channel for channel, held in self.load.items() if held]

    def free_on(self, channel: Channel) -> bool:
        """Could take one more contact of this channel now (presence aside)."""
        if self.used(channel) >= self.capacity.get(channel, 0):
            return False
        for busy in self.busy_channels():
            if busy != channel and (busy in self.exclusive or channel in self.exclusive):
                return False
        return True
