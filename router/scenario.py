"""What-if scenarios for the simulator: traffic, handling, patience, staffing (YAML).

    duration: 8h
    seed: 7
    arrivals:                       # Poisson streams
      - {channel: voice, intent: billing, per_hour: 200, language: it, angry_share: 0.2}
    handle_time: {voice: 180s, chat: 6m, email: 10m}     # means, exponential
    patience: {voice: 2m, chat: 5m}                      # means; absent = never abandons
    after_contact_work: {voice: 10s}
    resolution_rate: 0.8            # the rest are unresolved...
    repeat: {share: 0.5, after: 2h} # ...and this share of those call back, about this later
    transfer_share: 0.05            # answered contacts the agent sends to another queue
    agents:
      - {count: 14, skills: {billing: 4}, languages: [it], shift: {start: 0h, end: 8h}}

See docs/simulator.md.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router.durations import Duration
from router.rules.loader import parse_model, read_text
from router.rules.model import SkillMap
from skills.vocabulary import Channel, normalize_language


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Arrivals(Model):
    channel: Channel
    intent: str = Field("", max_length=64, description="contact.intent seen by the rules")
    per_hour: float = Field(gt=0, description="mean arrivals per hour (Poisson)")
    language: str = "it"
    angry_share: float = Field(0.0, ge=0, le=1, description="share of upset customers")
    text: str = Field("", max_length=2000, description="what they write (rules may read it)")
    attributes: dict[str, str | int | float | bool] = Field(default_factory=dict)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return normalize_language(value)


class Shift(Model):
    start: Duration = 0.0
    end: Duration = Field(default=float("inf"))


class AgentGroup(Model):
    count: int = Field(ge=1, le=10_000)
    name: str = Field("agent", max_length=40, description="prefix of the agents' ids")
    skills: SkillMap = Field(default_factory=dict)
    languages: tuple[str, ...] = ("it",)
    capacity: dict[Channel, int] = Field(default_factory=dict)
    shift: Shift = Shift()


class Repeat(Model):
    share: float = Field(0.0, ge=0, le=1, description="of unresolved contacts that come back")
    after: Duration = Field(3600.0, gt=0, description="mean time before they come back")


class Scenario(Model):
    duration: Duration = Field(gt=0)
    seed: int = 1
    arrivals: tuple[Arrivals, ...] = Field(min_length=1)
    handle_time: dict[Channel, Duration] = Field(default_factory=dict)
    patience: dict[Channel, Duration] = Field(default_factory=dict)
    after_contact_work: dict[Channel, Duration] = Field(default_factory=dict)
    resolution_rate: float = Field(1.0, ge=0, le=1)
    repeat: Repeat = Repeat()
    transfer_share: float = Field(0.0, ge=0, le=1)
    agents: tuple[AgentGroup, ...] = Field(min_length=1)

    def mean_handle(self, channel: Channel) -> float:
        return self.handle_time.get(channel, DEFAULT_HANDLE[channel])


DEFAULT_HANDLE = {
    Channel.VOICE: 240.0,
    Channel.CHAT: 420.0,
    Channel.SOCIAL: 300.0,
    Channel.EMAIL: 600.0,
}


def load_scenario(path: str) -> Scenario:
    """Read a scenario file. Raises ConfigError with file:line for every problem."""
    scenario, _lines = parse_model(read_text(path), path, Scenario)
    return scenario
