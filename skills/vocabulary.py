"""Channels, proficiency levels and skill requirements: the words every part shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

MIN_PROFICIENCY = 1
MAX_PROFICIENCY = 5


class Channel(StrEnum):
    """A channel family. Capacity, SLA and ageing are configured per channel."""

    VOICE = "voice"
    CHAT = "chat"
    SOCIAL = "social"
    EMAIL = "email"


SkillLevels = Mapping[str, int]
"""Skill name -> proficiency (1..5) held by an agent, or minimum level required by a contact."""


def normalize_skill(name: str) -> str:
    """Skill names are case-insensitive identifiers; store them lower-case and stripped."""
    return name.strip().lower()


def check_skill_map(value: Mapping[str, int]) -> dict[str, int]:
    """Skill names normalized, levels within MIN_PROFICIENCY..MAX_PROFICIENCY (else ValueError)."""
    checked: dict[str, int] = {}
    for name, level in value.items():
        key = normalize_skill(name)
        if not key:
            raise ValueError("skill names cannot be empty")
        if not MIN_PROFICIENCY <= level <= MAX_PROFICIENCY:
            raise ValueError(
                f"skill {name!r}: level {level} is outside {MIN_PROFICIENCY}..{MAX_PROFICIENCY}"
            )
        checked[key] = level
    return checked


def normalize_language(code: str) -> str:
    """Language codes are ISO 639-1 style ("it", "en"); store them lower-case."""
    return code.strip().lower()


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """Who an agent is for routing: skills with proficiency, languages and capacity overrides.

    ``capacity`` overrides the per-channel defaults of the routing config; a channel set to 0
    is one the agent never handles.
    """

    agent_id: str
    name: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)
    languages: frozenset[str] = frozenset()
    capacity: Mapping[Channel, int] = field(default_factory=dict)

    def level(self, skill: str) -> int:
        return self.skills.get(skill, 0)

    def meets(self, requirements: tuple[tuple[str, int], ...]) -> bool:
        """True when every required skill is held at or above its level."""
        skills = self.skills
        return all(skills.get(name, 0) >= level for name, level in requirements)

    def speaks(self, language: str | None) -> bool:
        return language is None or language in self.languages
