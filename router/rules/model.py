"""The routing configuration as frozen pydantic models (what config.yaml is parsed into).

Every field has a sane default so a short config.yaml works; the shipped config.yaml shows
and explains each one.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.durations import Duration
from router.rules.hours import ALWAYS, AfterHoursSpec, CalendarSpec
from skills.intents import IntentSpec
from skills.vocabulary import (
    MAX_PROFICIENCY,
    MIN_PROFICIENCY,
    Channel,
    check_skill_map,
    normalize_language,
)


class PathError(ValueError):
    """A cross-check failure that knows where in the file it is (``loc``), so the loader
    can give its line: a model-level validator otherwise reports at the top level."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlaSpec(Frozen):
    """Service level: ``target`` share of contacts answered within ``threshold``."""

    target: float = Field(gt=0, le=1)
    threshold: Duration = Field(gt=0)


class ChannelSpec(Frozen):
    sla: SlaSpec
    capacity: int = Field(ge=0, le=100, description="default concurrent contacts per agent")
    exclusive: bool = Field(False, description="while one is active, the agent takes nothing else")
    offer_timeout: Duration = Field(20.0, gt=0)
    wrap_up: Duration = Field(30.0, ge=0, description="longest wrap-up before auto-complete")


DEFAULT_CHANNELS: dict[Channel, ChannelSpec] = {
    Channel.VOICE: ChannelSpec(
        sla=SlaSpec(target=0.8, threshold=20),
        capacity=1,
        exclusive=True,
        offer_timeout=15,
        wrap_up=30,
    ),
    Channel.CHAT: ChannelSpec(
        sla=SlaSpec(target=0.8, threshold=60),
        capacity=3,
        offer_timeout=30,
        wrap_up=15,
    ),
    Channel.SOCIAL: ChannelSpec(
        sla=SlaSpec(target=0.9, threshold=1800),
        capacity=4,
        offer_timeout=60,
        wrap_up=15,
    ),
    Channel.EMAIL: ChannelSpec(
        sla=SlaSpec(target=0.9, threshold=14400),
        capacity=5,
        offer_timeout=120,
        wrap_up=60,
    ),
}


class HistoryBoosts(Frozen):
    repeat_unresolved: float = Field(15.0, ge=0, description="repeat contact, case unresolved")
    repeat_window: Duration = Field(
        7 * 86400.0, gt=0, description="an unresolved case counts as a repeat this long"
    )
    per_transfer: float = Field(10.0, ge=0, description="each transfer (bounce) so far")
    max_transfers_counted: int = Field(3, ge=0)


class PrioritySpec(Frozen):
    """priority(t) = min(static_cap, rule + urgency_weight·urgency + history)
    + ageing_weight · wait(t) / sla_threshold(queue, channel)."""

    ageing_weight: float = Field(10.0, gt=0, description="points per SLA threshold waited")
    urgency_weight: float = Field(20.0, ge=0, description="points for urgency 1.0")
    static_cap: float = Field(100.0, gt=0, description="cap on rule + urgency + history")
    history: HistoryBoosts = HistoryBoosts()


class OfferPolicy(Frozen):
    max_consecutive_misses: int = Field(2, ge=1, description="then the agent is set not-ready")
    retry_same_agent_after: Duration = Field(
        300.0, ge=0, description="an agent who rejected or missed a contact is skipped this long"
    )
    disconnect_grace: Duration = Field(
        60.0, ge=0, description="a desktop gone this long is logged out"
    )


class CallbackPolicy(Frozen):
    """Callbacks customers asked for: how far ahead they may choose, and how an unanswered
    one (the agent wraps it up with outcome ``no_answer_outcome``) is tried again."""

    max_ahead: Duration = Field(7 * 86400.0, gt=0, description="latest time one may ask for")
    retry_after: Duration = Field(600.0, gt=0, description="an unanswered callback, again after")
    max_attempts: int = Field(3, ge=1, le=10, description="calls in all, the first included")
    no_answer_outcome: str = Field("no_answer", min_length=1, max_length=40)


class ExpansionStep(Frozen):
    """A bullseye ring: after waiting ``after`` (a duration, or a share of the contact's SLA
    threshold such as "25%"), agents with ``min_proficiency`` are enough."""

    after: Duration = 0.0
    share: float | None = Field(None, ge=0, le=100, description="after, as a share of SLA")
    min_proficiency: int = Field(ge=MIN_PROFICIENCY, le=MAX_PROFICIENCY)

    @model_validator(mode="before")
    @classmethod
    def _percent(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and isinstance(data.get("after"), str)
            and data["after"].strip().endswith("%")
        ):
            text = data["after"].strip().rstrip("%").strip()
            try:
                share = float(text) / 100
            except ValueError:
                raise ValueError(f"after: {data['after']!r} is not a percentage") from None
            data = {**data, "after": 0.0, "share": share}
        return data

    @property
    def position(self) -> float:
        return self.share if self.share is not None else self.after


DEFAULT_EXPANSION: tuple[ExpansionStep, ...] = (
    ExpansionStep(after=0, min_proficiency=3),
    ExpansionStep(after=30, min_proficiency=2),
    ExpansionStep(after=90, min_proficiency=1),
)


class PreferredAgentSpec(Frozen):
    """Offer first to the agent who handled this customer's unresolved case, if any."""

    policy: Literal["none", "last_unresolved", "last_agent"] = "last_unresolved"
    max_wait: Duration = Field(30.0, ge=0, description="how long to hold out for that agent")
    lookback: Duration = Field(14 * 86400.0, gt=0, description="how far back history counts")


SkillMap = dict[str, int]


def _check_skills(value: SkillMap) -> SkillMap:
    return check_skill_map(value)


def _check_expansion(steps: tuple[ExpansionStep, ...] | None) -> tuple[ExpansionStep, ...] | None:
    if steps is None:
        return None
    if not steps:
        raise ValueError("expansion needs at least one step")
    if steps[0].position != 0:
        raise ValueError("the first expansion step must start at after: 0")
    if len({step.share is None for step in steps[1:]}) > 1:
        raise ValueError("use either durations or percentages of the SLA in one expansion")
    for earlier, later in pairwise(steps):
        if later.position <= earlier.position:
            raise ValueError("expansion steps must have increasing 'after'")
        if later.min_proficiency > earlier.min_proficiency:
            raise ValueError("expansion steps may only relax min_proficiency, never raise it")
    return steps


class TriageSpec(Frozen):
    default_region: str = Field(
        "IT", min_length=2, max_length=2, description="region for national phone numbers"
    )
    detect_language: bool = True
    same_department: bool = Field(
        True,
        description="a contact no rule claims goes to the queue of the customer's unresolved case",
    )


class OutcomeSpec(Frozen):
    """A wrap-up outcome agents pick on the desktop: a code, its label per language, and
    whether it usually means the case is resolved (the desktop's default)."""

    code: str = Field(pattern=r"^[a-z0-9_.-]{1,64}$")
    label: dict[str, str] = Field(default_factory=dict, description="language -> label")
    resolved: bool = True


class RetentionSpec(Frozen):
    """How long personal texts are kept (router/retention.py purges them)."""

    texts: Duration = Field(
        0.0,
        ge=0,
        description="finished contacts' texts, subjects, notes, their messages and feedback "
        "comments older than this are purged (e.g. 365d); 0 keeps them",
    )
    check_every: Duration = Field(3600.0, gt=0, description="how often the purge runs")


class OverflowSpec(Frozen):
    """After waiting ``after``, or when the wait estimate at arrival passes ``wait_above``,
    a contact also becomes eligible for the agents of queue ``to`` (it stays in its own
    queue, whose service level it counts for), ranked there with ``priority``."""

    to: str
    after: Duration | None = Field(None, ge=0)
    wait_above: Duration | None = Field(None, gt=0, description="estimated wait at arrival")
    priority: float = Field(0.0, ge=0, description="its static priority in the other queue")

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        if (self.after is None) == (self.wait_above is None):
            raise ValueError("give exactly one of `after` and `wait_above`")
        return self


class QueueSpec(Frozen):
    """A department queue: the skills it needs and how its search widens while contacts wait."""

    description: str = ""
    skills: SkillMap = Field(default_factory=dict)
    expansion: tuple[ExpansionStep, ...] | None = None
    sla: dict[Channel, SlaSpec] = Field(default_factory=dict)
    canned_replies: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="language -> ready answers shown on the desktop"
    )
    hours: str | dict[Channel, str] = Field(
        ALWAYS, description="a calendar for every channel, or per channel (others: always)"
    )
    after_hours: AfterHoursSpec | None = Field(None, description="else the top-level one")
    overflow: tuple[OverflowSpec, ...] = ()

    _skills = field_validator("skills")(_check_skills)
    _expansion = field_validator("expansion")(_check_expansion)

    def calendar_for(self, channel: Channel) -> str:
        if isinstance(self.hours, str):
            return self.hours
        return self.hours.get(channel, ALWAYS)


class RuleSpec(Frozen):
    """When the CEL condition holds, the contact goes to ``queue`` with these settings.

    Rules are tried top to bottom; the first that matches decides.
    """

    name: str = Field(min_length=1, max_length=80)
    when: str = Field(min_length=1, description="CEL condition over contact and customer")
    queue: str
    priority: float = Field(0.0, ge=0)
    skills: SkillMap = Field(default_factory=dict, description="added to the queue's skills")
    match_language: bool = Field(True, description="agent must speak the contact's language")
    preferred_agent: PreferredAgentSpec | None = None
    expansion: tuple[ExpansionStep, ...] | None = None

    _skills = field_validator("skills")(_check_skills)
    _expansion = field_validator("expansion")(_check_expansion)


REASON_CODE = r"^[a-z][a-z0-9_]{0,39}$"


class AwayReason(Frozen):
    """A reason an agent may give for being away (break, lunch, training...)."""

    label: str = Field("", max_length=80, description="shown on desktops and reports")
    limit: Duration | None = Field(
        None, gt=0, description="longer than this in the state raises an alert"
    )


DEFAULT_AWAY_REASONS: dict[str, AwayReason] = {
    "break": AwayReason(label="Break", limit=900.0),
    "lunch": AwayReason(label="Lunch", limit=3600.0),
    "training": AwayReason(label="Training"),
    "meeting": AwayReason(label="Meeting"),
    "after_call_work": AwayReason(label="After-call work", limit=300.0),
}


class AgentStatesSpec(Frozen):
    """Away reasons (codes), their time limits, and whether away needs one."""

    reasons: dict[str, AwayReason] = Field(default_factory=lambda: dict(DEFAULT_AWAY_REASONS))
    require_reason: bool = Field(False, description="an agent going away must give a code")

    @field_validator("reasons")
    @classmethod
    def _codes(cls, value: dict[str, AwayReason]) -> dict[str, AwayReason]:
        for code in value:
            if not re.match(REASON_CODE, code):
                raise ValueError(
                    f"reason code {code!r}: use lower-case letters, digits and _ (max 40)"
                )
        return value


class ReportsSpec(Frozen):
    """Interval reports (router/reports/)."""

    timezone: str = Field("UTC", description="days of daily reports start at midnight here")
    refresh: Duration = Field(60.0, gt=0, description="how often intervals are aggregated")

    short_abandon: Duration = Field(
        0.0, ge=0, description="abandoned sooner than this: not counted against service level"
    )


class RoutingConfig(Frozen):
    version: Literal[1] = 1
    languages: tuple[str, ...] = ("it", "en")
    channels: dict[Channel, ChannelSpec] = Field(default_factory=lambda: dict(DEFAULT_CHANNELS))
    priority: PrioritySpec = PrioritySpec()
    offers: OfferPolicy = OfferPolicy()
    expansion: tuple[ExpansionStep, ...] = DEFAULT_EXPANSION
    preferred_agent: PreferredAgentSpec = PreferredAgentSpec()
    agent_choice: Literal["bullseye", "longest_idle", "round_robin"] = Field(
        "bullseye",
        description="bullseye: narrowest qualified ring, then longest idle; longest_idle: "
        "longest idle qualified agent; round_robin: the qualified agent offered longest ago",
    )
    triage: TriageSpec = TriageSpec()
    retention: RetentionSpec = RetentionSpec()
    intents: dict[str, IntentSpec] = Field(default_factory=dict)
    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    after_hours: AfterHoursSpec = AfterHoursSpec()
    callbacks: CallbackPolicy = CallbackPolicy()
    default_queue: str
    queues: dict[str, QueueSpec] = Field(min_length=1)
    rules: tuple[RuleSpec, ...] = ()
    outcomes: tuple[OutcomeSpec, ...] = Field(
        (), description="wrap-up outcome codes the desktop offers (any text is still taken)"
    )
    agent_states: AgentStatesSpec = AgentStatesSpec()
    reports: ReportsSpec = ReportsSpec()

    _expansion = field_validator("expansion")(_check_expansion)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalize_language(code) for code in value)

    @field_validator("channels")
    @classmethod
    def _fill_channels(cls, value: dict[Channel, ChannelSpec]) -> dict[Channel, ChannelSpec]:
        return {**DEFAULT_CHANNELS, **value}

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        if self.default_queue not in self.queues:
            raise PathError(
                ("default_queue",), f"default_queue {self.default_queue!r} is not one of the queues"
            )
        self._check_hours()
        seen: set[str] = set()
        for index, rule in enumerate(self.rules):
            if rule.name in seen:
                raise PathError(("rules", index, "name"), f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
            if rule.queue not in self.queues:
                raise PathError(
                    ("rules", index, "queue"),
                    f"queue {rule.queue!r} is not one of the queues "
                    f"({', '.join(sorted(self.queues))})",
                )
        codes = [outcome.code for outcome in self.outcomes]
        if len(set(codes)) != len(codes):
            raise ValueError("an outcome code is listed twice")
        return self

    def _check_hours(self) -> None:
        if ALWAYS in self.calendars:
            raise PathError(("calendars", ALWAYS), f"{ALWAYS!r} is reserved: open all the time")
        known = ", ".join(sorted([ALWAYS, *self.calendars]))
        for name, queue in self.queues.items():
            names = [queue.hours] if isinstance(queue.hours, str) else queue.hours.values()
            for calendar in names:
                if calendar != ALWAYS and calendar not in self.calendars:
                    raise PathError(
                        ("queues", name, "hours"), f"no calendar {calendar!r} (known: {known})"
                    )
            after = queue.after_hours
            if after is not None and after.queue is not None and after.queue not in self.queues:
                raise PathError(
                    ("queues", name, "after_hours", "queue"),
                    f"queue {after.queue!r} is not one of the queues",
                )
        for name, queue in self.queues.items():
            for index, spec in enumerate(queue.overflow):
                if spec.to not in self.queues or spec.to == name:
                    raise PathError(
                        ("queues", name, "overflow", index, "to"),
                        f"overflow to {spec.to!r}: not another one of the queues",
                    )
        if self.after_hours.queue is not None and self.after_hours.queue not in self.queues:
            raise PathError(
                ("after_hours", "queue"),
                f"queue {self.after_hours.queue!r} is not one of the queues",
            )

    def after_hours_for(self, queue: str) -> AfterHoursSpec:
        spec = self.queues.get(queue)
        if spec is not None and spec.after_hours is not None:
            return spec.after_hours
        return self.after_hours

    def sla_for(self, queue: str, channel: Channel) -> SlaSpec:
        spec = self.queues.get(queue)
        if spec is not None and channel in spec.sla:
            return spec.sla[channel]
        return self.channels[channel].sla
