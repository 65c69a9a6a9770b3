"""Business hours in config.yaml: calendars (time zone, weekly hours, holidays) and what
happens to a contact that arrives while its queue is closed.

Only the shapes and their checks live here; router/hours.py evaluates them at an instant.
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import pairwise
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "always"
"""The calendar name that means open around the clock (the default of every queue)."""

_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_EASTER = re.compile(r"^easter\s*(?:([+-])\s*(\d{1,2}))?$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")

Interval = tuple[int, int]
"""Minutes after local midnight: [start, end), end up to 24:00 (1440)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def parse_interval(text: str) -> Interval:
    match = _INTERVAL.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time range like 08:00-20:00")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"{text!r}: not a time of day (00:00 .. 24:00)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        raise ValueError(f"{text!r}: the end must be after the start (split a night shift)")
    return start, end


def _intervals(value: Any) -> tuple[Interval, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise ValueError("give a list of time ranges such as [08:00-13:00, 14:00-18:00]")
    spans = sorted(parse_interval(str(item)) for item in value)
    for (_, end), (start, _) in pairwise(spans):
        if start < end:
            raise ValueError("time ranges of one day overlap")
    return tuple(spans)


def _expand_days(key: str) -> list[int]:
    key = key.strip().lower()
    if "-" in key:
        first, last = (part.strip() for part in key.split("-", 1))
        if first not in DAYS or last not in DAYS or DAYS.index(last) < DAYS.index(first):
            raise ValueError(f"{key!r} is not a day range such as mon-fri")
        return list(range(DAYS.index(first), DAYS.index(last) + 1))
    if key not in DAYS:
        raise ValueError(f"{key!r} is not a day ({', '.join(DAYS)}) or a range (mon-fri)")
    return [DAYS.index(key)]


class HolidaySpec(_Frozen):
    """A day with other hours (closed unless ``hours`` is given).

    ``date``: ``MM-DD`` every year, ``YYYY-MM-DD`` once, or ``easter`` / ``easter+1`` /
    ``easter-2`` (days from Western Easter Sunday, computed for each year)."""

    date: str
    name: str = Field("", max_length=120)
    hours: tuple[Interval, ...] = ()

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str:
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value).strip().lower()
        if _EASTER.match(text):
            return text.replace(" ", "")
        if _MONTH_DAY.match(text):
            month, day = (int(part) for part in text.split("-"))
            try:
                dt.date(2024, month, day)  # a leap year: 02-29 is allowed
            except ValueError:
                raise ValueError(f"{text!r} is not a day of the year") from None
            return text
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not MM-DD, YYYY-MM-DD or easter(+/-days)") from None

    @field_validator("hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> tuple[Interval, ...]:
        return _intervals(value)

    def on(self, day: dt.date) -> bool:
        text = self.date
        match = _EASTER.match(text)
        if match is not None:
            sign, days = match.groups()
            offset = int(days or 0) * (-1 if sign == "-" else 1)
            return day == easter_sunday(day.year) + dt.timedelta(days=offset)
        if _MONTH_DAY.match(text):
            return day.strftime("%m-%d") == text
        return day.isoformat() == text


def easter_sunday(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday: the anonymous Gregorian algorithm."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


class CalendarSpec(_Frozen):
    """Opening hours in one time zone: per weekday, and holidays that override them."""

    timezone: str = "Europe/Rome"
    week: dict[str, tuple[Interval, ...]] = Field(
        default_factory=dict, description="mon..sun or ranges (mon-fri) -> time ranges"
    )
    holidays: tuple[HolidaySpec, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Rome)") from None
        return value

    @field_validator("week", mode="before")
    @classmethod
    def _week(cls, value: Any) -> dict[str, tuple[Interval, ...]]:
        if not isinstance(value, dict):
            raise ValueError("week maps days (mon-fri, sat, ...) to time ranges")
        out: dict[str, tuple[Interval, ...]] = {}
        for key, spans in value.items():
            for index in _expand_days(str(key)):
                if DAYS[index] in out:
                    raise ValueError(f"{DAYS[index]} is given twice")
                out[DAYS[index]] = _intervals(spans if spans is not None else [])
        return out

    @model_validator(mode="after")
    def _opens_sometime(self) -> Self:
        if not any(self.week.values()):
            raise ValueError("the week has no opening hours (omit `hours` for always open)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def spans_on(self, day: dt.date) -> tuple[tuple[Interval, ...], str]:
        """The day's opening ranges and, if a holiday, its name."""
        for holiday in self.holidays:
            if holiday.on(day):
                return holiday.hours, holiday.name or holiday.date
        return self.week.get(DAYS[day.weekday()], ()), ""


class AfterHoursSpec(_Frozen):
    """What a contact arriving while its queue is closed gets.

    ``notice``: queued anyway, the customer is told when we open; ``overflow``: routed to
    ``queue`` (if that one is open, else as ``notice``); ``callback``: offered a call back
    when we open (the contact keeps its place)."""

    action: Literal["notice", "overflow", "callback"] = "notice"
    queue: str | None = Field(None, description="overflow: where to")
    notice: str = Field(
        "We are closed now; we open again {opens}. Your request is queued.",
        max_length=500,
        description="told to the customer; {opens} is replaced by the next opening",
    )

    @model_validator(mode="after")
    def _needs_queue(self) -> Self:
        if self.action == "overflow" and not self.queue:
            raise ValueError("action overflow needs `queue`")
        return self
