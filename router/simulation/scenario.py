"""What-if scenarios for the simulator: traffic, handling, patience, staffing (YAML).

    duration: 8h
    seed: 7
    arrivals:                       # Poisson streams, constant or with a daily profile
      - {channel: voice, intent: billing, per_hour: 200, language: it, angry_share: 0.2}
      - {channel: chat, profile: {interval: 15m, per_hour: [20, 40, 60, ...]}}
    trace: yesterday.csv            # or/and: replay recorded contacts (docs/simulator.md)
    handle_time: {voice: {dist: lognormal, mean: 4m, sigma: 1}, chat: 6m}
    handle_times: [{channel: voice, intent: lost_card, time: 7m}]   # first match wins
    concurrency_slowdown: {chat: 0.25}   # each extra chat in hand makes each 25% slower
    patience: {voice: 2m, chat: 5m}      # absent = never abandons
    upset_patience: 0.6                  # upset customers hang up sooner (factor)
    redial: {probability: 0.3, after: 5m}
    ring_time: {voice: {dist: fixed, value: 4s}}
    missed_offers: 0.02                  # offers nobody answers (the router's RONA)
    agents:
      - {count: 14, skills: {billing: 4}, shift: {start: 0h, end: 8h,
         breaks: [{start: 2h, length: 15m}]}}

See docs/simulator.md.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from router.durations import Duration
from router.rules.loader import ConfigError, ConfigProblem, parse_model, read_text
from router.rules.model import SkillMap
from router.simulation.distributions import (
    DataFileError,
    Distribution,
    Empirical,
    Exponential,
    read_column,
)
from skills.vocabulary import Channel, normalize_language


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Profile(Model):
    interval: Duration = Field(900.0, gt=0, description="length of each interval")
    per_hour: tuple[float, ...] = Field(min_length=1, description="rate in each interval")

    @field_validator("per_hour")
    @classmethod
    def _not_negative(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if any(rate < 0 for rate in value):
            raise ValueError("arrival rates cannot be negative")
        if not any(rate > 0 for rate in value):
            raise ValueError("at least one interval needs arrivals")
        return value

    def rate_at(self, t: float) -> float:
        """Arrivals per second at t; the profile repeats after its last interval."""
        index = int(t // self.interval) % len(self.per_hour)
        return self.per_hour[index] / 3600.0


class Arrivals(Model):
    channel: Channel
    intent: str = Field("", max_length=64, description="contact.intent seen by the rules")
    per_hour: float | None = Field(None, gt=0, description="mean arrivals per hour (Poisson)")
    profile: Profile | None = Field(None, description="arrival rates per interval of the day")
    language: str = "it"
    angry_share: float = Field(0.0, ge=0, le=1, description="share of upset customers")
    text: str = Field("", max_length=2000, description="what they write (rules may read it)")
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return normalize_language(value)

    @model_validator(mode="after")
    def _one_rate(self) -> Arrivals:
        if (self.per_hour is None) == (self.profile is None):
            raise ValueError("give either per_hour or profile")
        return self


class Break(Model):
    start: Duration
    length: Duration = Field(gt=0)


class Shift(Model):
    start: Duration = 0.0
    end: Duration = Field(default=float("inf"))
    breaks: tuple[Break, ...] = ()


class AgentGroup(Model):
    count: int = Field(ge=0, le=10_000)
    name: str = Field("agent", max_length=40, description="prefix of the agents' ids")
    skills: SkillMap = Field(default_factory=dict)
    languages: tuple[str, ...] = ("it",)
    capacity: dict[Channel, int] = Field(default_factory=dict)
    shift: Shift = Shift()


class Repeat(Model):
    share: float = Field(0.0, ge=0, le=1, description="of unresolved contacts that come back")
    after: Duration = Field(3600.0, gt=0, description="mean time before they come back")


class Redial(Model):
    probability: float = Field(0.0, ge=0, le=1, description="of abandoners who try again")
    after: Duration = Field(300.0, gt=0, description="mean time before they do")


class HandleOverride(Model):
    channel: Channel | None = None
    queue: str | None = None
    intent: str | None = None
    time: Distribution

    def matches(self, channel: Channel, queue: str, intent: str) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.queue is None or self.queue == queue)
            and (self.intent is None or self.intent == intent)
        )


class Scenario(Model):
    duration: Duration = Field(gt=0)
    seed: int = Field(1, ge=0, lt=2**63)
    arrivals: tuple[Arrivals, ...] = ()
    trace: str | None = Field(None, description="CSV of recorded contacts to replay")
    handle_time: dict[Channel, Distribution] = Field(default_factory=dict)
    handle_times: tuple[HandleOverride, ...] = ()
    concurrency_slowdown: dict[Channel, float] = Field(default_factory=dict)
    patience: dict[Channel, Distribution] = Field(default_factory=dict)
    upset_patience: float = Field(1.0, gt=0, le=1, description="patience factor when upset")
    after_contact_work: dict[Channel, Duration] = Field(default_factory=dict)
    resolution_rate: float = Field(1.0, ge=0, le=1)
    repeat: Repeat = Repeat()
    redial: Redial = Redial()
    transfer_share: float = Field(0.0, ge=0, le=1)
    ring_time: dict[Channel, Distribution] = Field(default_factory=dict)
    missed_offers: float = Field(0.0, ge=0, le=1, description="offers left ringing (RONA)")
    not_ready_for: Duration = Field(60.0, ge=0, description="back after a not-ready")
    warm_up: Duration | None = Field(None, description="default: steady runs 10% up to 1h")
    agents: tuple[AgentGroup, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _some_traffic(self) -> Scenario:
        if not self.arrivals and self.trace is None:
            raise ValueError("give arrivals, a trace, or both")
        if any(s < 0 for s in self.concurrency_slowdown.values()):
            raise ValueError("concurrency_slowdown cannot be negative")
        return self

    def handle_distribution(self, channel: Channel, queue: str, intent: str) -> Distribution:
        for override in self.handle_times:
            if override.matches(channel, queue, intent):
                return override.time
        found = self.handle_time.get(channel)
        return found if found is not None else Exponential(mean=DEFAULT_HANDLE[channel])

    def mean_handle(self, channel: Channel) -> float:
        return self.handle_distribution(channel, "", "").average

    @property
    def steady(self) -> bool:
        """Constant rates, no trace: a steady state, whose start is a warm-up."""
        return self.trace is None and all(s.profile is None for s in self.arrivals)

    @property
    def warm_up_seconds(self) -> float:
        if self.warm_up is not None:
            return min(self.warm_up, self.duration)
        return min(3600.0, self.duration / 10) if self.steady else 0.0


DEFAULT_HANDLE = {
    Channel.VOICE: 240.0,
    Channel.CHAT: 420.0,
    Channel.SOCIAL: 300.0,
    Channel.EMAIL: 600.0,
}


def load_scenario(path: str) -> Scenario:
    """Read a scenario file. Raises ConfigError with file:line for every problem.

    Files it names (a trace, empirical distributions) are relative to the scenario file.
    """
    scenario, _lines = parse_model(read_text(path), path, Scenario)
    return resolve_files(scenario, Path(path).resolve().parent, path)


def resolve_files(scenario: Scenario, base: Path, source: str = "scenario") -> Scenario:
    """Make the scenario's data files absolute and check that they read."""
    problems: list[ConfigProblem] = []

    def fix(dist: Distribution) -> Distribution:
        if not isinstance(dist, Empirical):
            return dist
        fixed = dist.model_copy(update={"file": str(base / dist.file)})
        try:
            read_column(fixed.file, fixed.column)
        except DataFileError as exc:
            problems.append(ConfigProblem(source, None, str(exc)))
        return fixed

    update: dict[str, object] = {
        "handle_time": {c: fix(d) for c, d in scenario.handle_time.items()},
        "handle_times": tuple(
            o.model_copy(update={"time": fix(o.time)}) for o in scenario.handle_times
        ),
        "patience": {c: fix(d) for c, d in scenario.patience.items()},
        "ring_time": {c: fix(d) for c, d in scenario.ring_time.items()},
    }
    if scenario.trace is not None:
        from router.simulation.trace import TraceError, read_trace

        update["trace"] = str(base / scenario.trace)
        try:
            read_trace(str(update["trace"]))
        except TraceError as exc:
            problems.append(ConfigProblem(source, None, str(exc)))
    if problems:
        raise ConfigError(problems)
    return scenario.model_copy(update=update)
