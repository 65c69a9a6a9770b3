"""A contact for a closed queue gets its after-hours policy (notice, overflow, callback),
at intake, with the injected clock across a daylight-saving change."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from channels.contact import InboundContact
from router.engine import Engine
from router.intake import Intake
from router.rules.loader import parse_rules
from router.rules.planner import Planner
from router.runtime import RouterRuntime
from router.store.repository import Store
from skills.vocabulary import Channel

ROME = ZoneInfo("Europe/Rome")
CONFIG = """
calendars:
  office:
    timezone: Europe/Rome
    week: {mon-fri: ["08:00-18:00"], sat: ["09:00-13:00"]}
    holidays: [{date: easter+1, name: Pasquetta}]
  evening:
    timezone: Europe/Rome
    week: {mon-sun: ["08:00-22:00"]}
after_hours: {action: notice, notice: "closed; we open {opens}"}
default_queue: general
queues:
  general: {hours: {chat: evening, voice: office}}
  billing:
    hours: office
    after_hours: {action: callback, notice: "we call you back {opens}"}
  tech:
    hours: office
    after_hours: {action: overflow, queue: general}
rules:
  - {name: billing, when: 'contact.intent == "billing"', queue: billing}
  - {name: tech, when: 'contact.intent == "tech"', queue: tech}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def set(self, local: str) -> None:
        self.now = dt.datetime.fromisoformat(local).replace(tzinfo=ROME).timestamp()

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Intake, Clock]]:
    """An intake over a real SQLite store, with the engine on an injected clock."""
    rules = parse_rules(CONFIG, "hours.yaml")
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'hours.db'}")
    clock = Clock()
    clock.set("2026-03-27T12:00")
    runtime = RouterRuntime(Engine(rules.config), store, clock=clock)
    await runtime.start()
    try:
        yield Intake(runtime, Planner(rules)), clock
        await runtime.recorder.flush()
    finally:
        await runtime.stop()
        await store.close()


def contact(n: int, intent: str, channel: Channel = Channel.CHAT) -> InboundContact:
    return InboundContact(
        gateway="gw", external_id=f"m{n}", channel=channel, intent=intent, text="x", language="it"
    )


async def test_open_hours_route_as_usual(tmp_path: Path) -> None:
    async with opened(tmp_path) as (desk, clock):
        await open_hours(desk, clock)


async def open_hours(desk: Intake, clock: Clock) -> None:
    clock.set("2026-03-27T12:00")  # a Friday
    result = await desk.accept(contact(1, "billing"))
    assert result.queue == "billing" and result.notice is None and result.after_hours is None


async def test_notice_callback_and_overflow_across_the_dst_change(tmp_path: Path) -> None:
    async with opened(tmp_path) as (desk, clock):
        await after_hours_across_dst(desk, clock)


async def after_hours_across_dst(desk: Intake, clock: Clock) -> None:
    clock.set("2026-03-28T20:00")  # Saturday evening; clocks go forward that night
    voice = await desk.accept(contact(2, "other", Channel.VOICE))
    assert voice.queue == "general" and voice.notice == "closed; we open Mon 30 Mar 08:00"
    assert voice.after_hours is not None and voice.after_hours["action"] == "notice"
    assert voice.after_hours["text"] == "closed until Mon 30 Mar 08:00 (outside business hours)"
    opens = dt.datetime(2026, 3, 30, 6, 0, tzinfo=dt.UTC).timestamp()  # 08:00 CEST
    assert voice.after_hours["status"]["change_at"] == opens

    billing = await desk.accept(contact(3, "billing"))
    assert billing.queue == "billing" and billing.notice == "we call you back Mon 30 Mar 08:00"
    assert billing.after_hours is not None and billing.after_hours["callback_at"] == opens

    tech = await desk.accept(contact(4, "tech"))  # general's chat is open until 22:00
    assert tech.queue == "general" and tech.after_hours is not None
    assert tech.after_hours["action"] == "overflow" and tech.after_hours["overflow_to"] == "general"
    stored = await desk.runtime.stored_contact(tech.contact_id)
    assert stored is not None and stored.rule == "(after hours: tech closed)"
    assert stored.triage["after_hours"]["queue"] == "tech"

    clock.set("2026-03-28T23:00")  # general's chat closed too: overflow falls back to notice
    late = await desk.accept(contact(5, "tech"))
    assert late.queue == "tech" and late.after_hours is not None
    assert late.after_hours["action"] == "notice"  # tech's own after_hours, default text
    assert late.notice == (
        "We are closed now; we open again Mon 30 Mar 08:00. Your request is queued."
    )

    clock.set("2026-03-30T08:00")  # Monday, after the change: open at 08:00 local
    assert (await desk.accept(contact(6, "tech"))).after_hours is None


async def test_the_manual_switch_closes_an_open_queue(tmp_path: Path) -> None:
    async with opened(tmp_path) as (desk, clock):
        await manual_switch(desk, clock)


async def manual_switch(desk: Intake, clock: Clock) -> None:
    clock.set("2026-03-27T12:00")
    desk.hours.close("billing", "flood", clock())
    result = await desk.accept(contact(7, "billing"))
    assert result.after_hours is not None
    assert result.after_hours["text"] == "closed until reopened (closed now: flood)"
    assert result.notice == "we call you back as soon as possible"
    desk.hours.reopen("billing")
    assert (await desk.accept(contact(8, "billing"))).after_hours is None
