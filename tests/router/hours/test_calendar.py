"""Business hours evaluated at injected instants: weekly hours, holidays (Easter computed),
a Saturday half-day, daylight-saving changes, and the manual "closed now" switch."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from router.hours import HoursBook, calendar_status
from router.rules.hours import easter_sunday
from router.rules.loader import ConfigError, load_rules, parse_rules
from skills.vocabulary import Channel
from tests.paths import REPO

ROME = ZoneInfo("Europe/Rome")
SHIPPED = load_rules(REPO / "config.yaml").config
MILANO = SHIPPED.calendars["milano"]


def at(text: str, zone: ZoneInfo = ROME) -> float:
    """An instant given as local wall time in ``zone`` (the injected clock's value)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(epoch: float | None) -> str:
    assert epoch is not None
    return dt.datetime.fromtimestamp(epoch, ROME).strftime("%Y-%m-%d %H:%M %z")


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"), (2027, "2027-03-28"),
     (2038, "2038-04-25"), (2285, "2285-03-22")],
)  # fmt: skip
def test_easter_is_computed_for_any_year(year: int, sunday: str) -> None:
    assert easter_sunday(year).isoformat() == sunday


def test_weekday_hours_and_the_saturday_half_day() -> None:
    tuesday = calendar_status("milano", MILANO, at("2026-03-10T12:00"))
    assert tuesday.open and local(tuesday.change_at) == "2026-03-10 20:00 +0100"
    saturday = calendar_status("milano", MILANO, at("2026-03-14T12:59"))
    assert saturday.open and local(saturday.change_at) == "2026-03-14 13:00 +0100"
    after = at("2026-03-14T13:00")
    closed = calendar_status("milano", MILANO, after)
    assert not closed.open and local(closed.change_at) == "2026-03-16 08:00 +0100"
    assert closed.text(after) == "closed until Mon 16 Mar 08:00 (outside business hours)"
    early = at("2026-03-16T07:30")
    assert calendar_status("milano", MILANO, early).text(early).startswith("closed until 08:00")


def test_easter_monday_and_the_patron_saint_are_closed_every_year() -> None:
    for year in (2026, 2027, 2030):
        monday = easter_sunday(year) + dt.timedelta(days=1)
        noon = at(f"{monday.isoformat()}T11:00")
        status = calendar_status("milano", MILANO, noon)
        assert not status.open and "Pasquetta" in status.reason
    patron = calendar_status("milano", MILANO, at("2026-12-07T10:00"))  # a Monday
    assert not patron.open and "Sant'Ambrogio" in patron.reason
    assert local(patron.change_at) == "2026-12-09 08:00 +0100"  # the 8th is a holiday too
    eve = calendar_status("milano", MILANO, at("2026-12-24T12:00"))
    assert eve.open and local(eve.change_at) == "2026-12-24 13:00 +0100"


def test_daylight_saving_changes_keep_wall_clock_hours() -> None:
    # 2026-03-29: clocks go forward at 02:00 in Rome (a Sunday, closed in milano)
    saturday_evening = at("2026-03-28T18:00")
    closed = calendar_status("milano", MILANO, saturday_evening)
    assert local(closed.change_at) == "2026-03-30 08:00 +0200"
    assert closed.change_at == at("2026-03-30T08:00")
    assert closed.change_at - saturday_evening == (6 + 24 + 8 - 1) * 3600  # an hour less
    # 2026-10-25: clocks go back at 03:00; the shipped "sera" calendar opens Sundays at 08:00
    sera = SHIPPED.calendars["sera"]
    night = at("2026-10-24T23:00")
    status = calendar_status("sera", sera, night)
    assert local(status.change_at) == "2026-10-25 08:00 +0100"
    assert status.change_at - night == 10 * 3600  # 23:00 CEST -> 08:00 CET: ten hours
    utc_seven = dt.datetime(2026, 10, 25, 7, 0, tzinfo=dt.UTC).timestamp()  # 08:00 CET
    assert calendar_status("sera", sera, utc_seven - 1).open is False
    assert calendar_status("sera", sera, utc_seven).open is True


def test_an_open_stretch_across_midnight_goes_on() -> None:
    config = parse_rules(
        """
calendars:
  night: {timezone: Europe/Rome, week: {mon: ["20:00-24:00"], tue: ["00:00-06:00"]}}
default_queue: q
queues: {q: {hours: night}}
"""
    ).config
    status = calendar_status("night", config.calendars["night"], at("2026-03-09T23:00"))
    assert status.open and local(status.change_at) == "2026-03-10 06:00 +0100"


def test_queue_hours_per_channel_and_the_manual_switch() -> None:
    book = HoursBook(SHIPPED)
    sunday = at("2026-03-15T11:00")
    assert not book.status("billing", Channel.EMAIL, sunday).open  # hours: milano, all channels
    assert not book.status("customer_care", Channel.VOICE, sunday).open
    assert book.status("customer_care", Channel.CHAT, sunday).open  # sera: open Sundays
    assert book.status("customer_care", Channel.EMAIL, sunday).open  # not listed: always
    assert book.status("cards", Channel.VOICE, sunday).open  # no hours: always
    book.close("cards", "fire alarm", sunday)
    closed = book.status("cards", Channel.VOICE, sunday)
    assert not closed.open
    assert closed.text(sunday) == "closed until reopened (closed now: fire alarm)"
    assert book.status("travel", Channel.EMAIL, sunday).open
    book.close("*", "", sunday)
    assert not book.status("travel", Channel.EMAIL, sunday).open
    assert book.reopen("*") and book.reopen("cards") and not book.reopen("cards")
    assert book.status("cards", Channel.VOICE, sunday).open
    with pytest.raises(KeyError):
        book.close("nope", "", sunday)


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_rules(text, "ops.yaml")
    return [str(problem) for problem in caught.value.problems]


BASE = """
calendars:
  office:
    timezone: Europe/Rome
    week: {mon-fri: ["08:00-18:00"]}
default_queue: q
queues:
  q: {hours: office}
  r: {}
"""


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("Europe/Rome", "Europe/Milano"), 4, "unknown time zone 'Europe/Milano'"),
        (('"08:00-18:00"', '"18:00-08:00"'), 5, "the end must be after the start"),
        (('"08:00-18:00"', '"8-18"'), 5, "is not a time range"),
        (("mon-fri", "mon-fry"), 5, "is not a day range"),
        (("hours: office", "hours: ofice"), 8, "no calendar 'ofice'"),
        (("q: {hours: office}", "q: {hours: office, after_hours: {action: overflow}}"), 8,
         "action overflow needs `queue`"),
        (("q: {hours: office}", "q: {after_hours: {action: overflow, queue: x}}"), 8,
         "queue 'x' is not one of the queues"),
    ],
)  # fmt: skip
def test_hours_problems_have_file_and_line(
    change: tuple[str, str], line: int, message: str
) -> None:
    (problem,) = problems(BASE.replace(*change))
    assert problem.startswith(f"ops.yaml:{line}:") and message in problem, problem


def test_holiday_dates_are_checked() -> None:
    text = BASE.replace('week: {mon-fri: ["08:00-18:00"]}', 'week: {mon: ["08:00-18:00"]}\n'
                        "    holidays: [{date: '02-30'}]")  # fmt: skip
    (problem,) = problems(text)
    assert "ops.yaml:6" in problem and "02-30" in problem
