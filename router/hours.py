"""Is a queue open now? Business hours evaluated at an instant, plus the manual switch.

Pure: every call takes ``now`` (epoch seconds from the injected clock); local times come
from the calendar's time zone (zoneinfo), so a daylight-saving change moves nothing: 08:00
is 08:00 on the wall clock on both sides of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from router.rules.hours import ALWAYS, DAYS, CalendarSpec
from router.rules.model import RoutingConfig
from skills.vocabulary import Channel

SEARCH_DAYS = 400
"""How far ahead the next opening is looked for (a calendar may close for a long holiday)."""
ALL_QUEUES = "*"


@dataclass(frozen=True, slots=True)
class HoursStatus:
    """Open or closed at an instant; ``change_at``: when that changes (None: never)."""

    open: bool
    change_at: float | None = None
    reason: str = ""
    calendar: str = ALWAYS
    timezone: str | None = None

    def local(self, at: float) -> dt.datetime:
        zone = ZoneInfo(self.timezone) if self.timezone else dt.UTC
        return dt.datetime.fromtimestamp(at, zone)

    def when_text(self, now: float) -> str:
        """``08:00``, ``tomorrow 08:00`` or ``Mon 06 Apr 08:00``, in the calendar's zone."""
        if self.change_at is None:
            return "never" if not self.open else ""
        at, today = self.local(self.change_at), self.local(now).date()
        clock = at.strftime("%H:%M")
        if at.date() == today:
            return clock
        if at.date() == today + dt.timedelta(days=1):
            return f"tomorrow {clock}"
        return f"{DAYS[at.weekday()].capitalize()} {at.strftime('%d %b')} {clock}"

    def text(self, now: float) -> str:
        if self.open:
            until = self.when_text(now)
            return f"open until {until}" if until else "open"
        why = f" ({self.reason})" if self.reason else ""
        if self.change_at is None:
            return f"closed until reopened{why}"
        return f"closed until {self.when_text(now)}{why}"

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "open": self.open,
            "text": self.text(now),
            "change_at": self.change_at,
            "reason": self.reason,
            "calendar": self.calendar,
            "timezone": self.timezone,
        }


def _local_at(day: dt.date, minute: int, zone: ZoneInfo) -> float:
    if minute >= 1440:
        day, minute = day + dt.timedelta(days=1), minute - 1440
    wall = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), zone)
    return wall.timestamp()


def calendar_status(name: str, calendar: CalendarSpec, now: float) -> HoursStatus:
    zone = calendar.zone
    local = dt.datetime.fromtimestamp(now, zone)
    minute = local.hour * 60 + local.minute + local.second / 60
    today = local.date()
    spans, holiday = calendar.spans_on(today)
    for start, end in spans:
        if start <= minute < end:
            return HoursStatus(True, _closing(calendar, today, end), "", name, calendar.timezone)
    reason = f"holiday: {holiday}" if holiday else "outside business hours"
    for offset in range(SEARCH_DAYS):
        day = today + dt.timedelta(days=offset)
        day_spans = spans if offset == 0 else calendar.spans_on(day)[0]
        for start, _end in day_spans:
            if offset > 0 or start > minute:
                opens = _local_at(day, start, zone)
                return HoursStatus(False, opens, reason, name, calendar.timezone)
    return HoursStatus(False, None, reason, name, calendar.timezone)


def _closing(calendar: CalendarSpec, day: dt.date, end: int) -> float:
    """When an open stretch ends: a range to 24:00 followed by one from 00:00 goes on."""
    zone = calendar.zone
    for _ in range(SEARCH_DAYS):
        if end < 1440:
            break
        day = day + dt.timedelta(days=1)
        spans = calendar.spans_on(day)[0]
        if not spans or spans[0][0] != 0:
            return _local_at(day, 0, zone)
        end = spans[0][1]
    return _local_at(day, end, zone)


@dataclass(frozen=True, slots=True)
class ClosedSwitch:
    reason: str
    since: float
    by: str = "admin"


class HoursBook:
    """Business hours of every queue and channel, and the manual "closed now" switches
    (per queue, or ``*`` for all), which outlive a rules reload."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.switches: dict[str, ClosedSwitch] = {}

    def use_config(self, config: RoutingConfig) -> None:
        self.config = config
        for queue in list(self.switches):
            if queue != ALL_QUEUES and queue not in config.queues:
                del self.switches[queue]

    def close(self, queue: str, reason: str, now: float) -> None:
        """Close a queue (or ``*``: every queue) now, until reopened. KeyError: no queue."""
        if queue != ALL_QUEUES and queue not in self.config.queues:
            raise KeyError(queue)
        self.switches[queue] = ClosedSwitch(reason or "closed by an administrator", now)

    def restore(self, closed: list[tuple[str, str, float]]) -> None:
        """Switches kept in the store (after a restart or a failover)."""
        for queue, reason, since in closed:
            if queue == ALL_QUEUES or queue in self.config.queues:
                self.switches[queue] = ClosedSwitch(reason, since)

    def reopen(self, queue: str) -> bool:
        """Undo a manual close; False if it was not closed by hand."""
        return self.switches.pop(queue, None) is not None

    def status(self, queue: str, channel: Channel, now: float) -> HoursStatus:
        switch = self.switches.get(queue) or self.switches.get(ALL_QUEUES)
        spec = self.config.queues.get(queue)
        name = spec.calendar_for(channel) if spec is not None else ALWAYS
        if switch is not None:
            return HoursStatus(False, None, f"closed now: {switch.reason}", name)
        if name == ALWAYS:
            return HoursStatus(True, None, "", ALWAYS)
        return calendar_status(name, self.config.calendars[name], now)

    def summary(self, now: float) -> list[dict[str, Any]]:
        """Every queue and channel: open or closed, until when, and any manual switch."""
        out = []
        for queue in self.config.queues:
            switch = self.switches.get(queue) or self.switches.get(ALL_QUEUES)
            out.append(
                {
                    "queue": queue,
                    "closed_by_hand": (
                        {"reason": switch.reason, "since": switch.since} if switch else None
                    ),
                    "channels": {
                        channel.value: self.status(queue, channel, now).as_dict(now)
                        for channel in self.config.channels
                    },
                }
            )
        return out
