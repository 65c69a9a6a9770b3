"""What the engine returns: decisions that the runtime persists and delivers.

The engine never does I/O; each call returns the list of things that happened, in order.
Each decision carries what a supervisor needs to understand it (``explanation``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from router.models import RoutePolicy
from router.states import OfferOutcome, Presence
from skills.vocabulary import Channel

Explanation = dict[str, Any]


class EngineError(Exception):
    """A request the engine refuses; ``code`` is stable for clients, message is for people."""

    code = "invalid_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownAgent(EngineError):
    code = "unknown_agent"


class UnknownContact(EngineError):
    code = "unknown_contact"


class UnknownOffer(EngineError):
    code = "unknown_offer"


class NotAllowed(EngineError):
    code = "not_allowed"


@dataclass(frozen=True, slots=True)
class Queued:
    contact_id: str
    queue: str
    reason: str  # arrival | rejected | missed | transfer | logout | restored ...
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class Expanded:
    contact_id: str
    step: int
    requirements: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Offered:
    offer_id: str
    contact_id: str
    agent_id: str
    channel: Channel
    expires_at: float
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class OfferEnded:
    offer_id: str
    contact_id: str
    agent_id: str
    outcome: OfferOutcome
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Assigned:
    contact_id: str
    agent_id: str
    offer_id: str
    waited: float


@dataclass(frozen=True, slots=True)
class WrapUpStarted:
    contact_id: str
    agent_id: str
    until: float
    ended_by: str


@dataclass(frozen=True, slots=True)
class Completed:
    contact_id: str
    agent_id: str
    outcome: str
    resolved: bool | None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class Abandoned:
    contact_id: str
    waited: float


@dataclass(frozen=True, slots=True)
class Transferred:
    contact_id: str
    from_agent: str
    target: dict[str, str]
    transfers: int
    policy: RoutePolicy  # the route it follows now (kept for restart recovery)
    history_boost: float
    excluded_agents: tuple[str, ...]  # never offered to these again (senders so far)
    preferred_agent: str | None


@dataclass(frozen=True, slots=True)
class Rescored:
    """The contact's urgency changed (a new message or transcript segment was scored)."""

    contact_id: str
    urgency: float
    static_priority: float
    agent_id: str | None  # who holds it (offered or assigned), if anyone


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    agent_id: str
    presence: Presence
    reason: str = ""
    code: str = ""  # away reason code (config agent_states.reasons)
    since: float = 0.0
    forced_by: str = ""  # the supervisor who forced it, if one did


@dataclass(frozen=True, slots=True)
class StateLimitExceeded:
    """An agent stayed in an away reason longer than its configured limit."""

    agent_id: str
    code: str
    since: float
    limit: float


@dataclass(frozen=True, slots=True)
class Supervised:
    """A supervisor moved a contact (``reassign`` to an agent, ``pull`` back to its queue)
    or changed its priority (``priority``; ``policy`` is the route it follows now)."""

    contact_id: str
    action: str
    by: str
    reason: str
    from_agent: str | None = None
    to_agent: str | None = None
    was_assigned: bool = False
    detail: Explanation = field(default_factory=dict)
    policy: RoutePolicy | None = None


Decision = (
    Queued
    | Expanded
    | Offered
    | OfferEnded
    | Assigned
    | WrapUpStarted
    | Completed
    | Abandoned
    | Transferred
    | Rescored
    | PresenceChanged
    | StateLimitExceeded
    | Supervised
)


@dataclass(slots=True)
class Decisions:
    """An ordered batch of decisions from one engine call."""

    items: list[Decision] = field(default_factory=list)

    def add(self, decision: Decision) -> None:
        self.items.append(decision)

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def of(self, kind: type) -> list[Any]:
        return [item for item in self.items if isinstance(item, kind)]
