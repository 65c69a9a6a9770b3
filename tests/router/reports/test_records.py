"""Reports through the real store on SQLite and PostgreSQL: the known interval written as
the router writes it, aggregated by the job, read back as reports, exact."""

from __future__ import annotations

import asyncio
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from router.reports.figures import LocalFigures, WorkerFigures, figures_for
from router.reports.job import GRACE, Reporter
from router.reports.query import build, to_csv
from router.store.changes import AgentStateInsert, ContactUpdate, EventInsert
from router.store.repository import Store
from tests.databases import database
from tests.engine_helpers import policy
from tests.router.reports.day import BILLING_CHAT, CONTACTS, FEEDBACK, STATES, TIME, S
from tests.router.reports.test_aggregate import CONFIG

UTC = ZoneInfo("UTC")


async def write_known_day(store: Store) -> None:
    for contact_id, arrival, events in CONTACTS:
        await store.add_contact(
            {
                "id": contact_id,
                "gateway": "gw",
                "external_id": contact_id,
                "channel": "chat",
                "queue": "billing",
                "rule": "billing",
                "policy": policy("billing").to_dict(),
                "state": "queued",
                "arrival": arrival,
                "updated_at": arrival,
            }
        )
        changes = [
            EventInsert(contact_id, S + offset, kind, detail) for offset, kind, detail in events
        ]
        last, kind = S + events[-1][0], events[-1][1]
        if kind in ("completed", "abandoned"):
            changes.append(ContactUpdate(contact_id, {"ended_at": last, "state": kind}))
        if any(k == "assigned" for _, k, _ in events):
            agent = [d["agent_id"] for _, k, d in events if k == "assigned"][-1]
            changes.append(ContactUpdate(contact_id, {"agent_id": agent}))
        await store.apply(changes)
    for agent, at, presence, code in STATES:
        await store.apply(
            [
                AgentStateInsert(
                    {
                        "agent_id": agent,
                        "at": at,
                        "kind": "state",
                        "presence": presence,
                        "code": code,
                    }
                )
            ]
        )
    for contact_id, _agent, at, csat, nps in FEEDBACK:
        row = await store.contact(contact_id)
        assert row is not None
        await store.aftercare.record_feedback(row, csat, nps, "", at)


async def test_the_job_aggregates_the_known_interval_exactly(store: Store) -> None:
    await write_known_day(store)
    reporter = Reporter(store.reports, lambda: CONFIG)
    now = S + 900 + GRACE + 1
    written = await reporter.refresh(now)
    # from the first record (S-1000, in [S-1800, S-900)) to the interval in progress
    assert written == 4
    assert await store.reports.done_until() == S + 900  # the next one is still in progress

    counts, time = await store.reports.stored(S, S + 900)
    report = build(counts, time, period="interval", by=("queue", "channel"), tz=UTC)
    (billing,) = report["rows"]
    assert billing["period"] == "2027-01-15T08:00+00:00"
    assert {k: billing[k] for k in BILLING_CHAT} == BILLING_CHAT
    assert billing["csat_satisfied"] == 0.5 and billing["csat_responses"] == 2

    agents = build(counts, time, period="interval", by=("agent",), tz=UTC)["rows"]
    by_agent = {row["agent"]: row for row in agents}
    assert by_agent["anna"]["time"] == {"available": 600.0, "away:break": 300.0, "busy": 670.0}
    assert by_agent["anna"]["occupancy"] == round(670 / 900, 4)
    assert by_agent["bruno"]["occupancy"] == 0.4 and by_agent["bruno"]["aht"] == 145.0
    assert by_agent[""]["offered"] == 4  # offered and abandoned belong to no agent
    assert {(a, s, c): v for (a, s, c), v in TIME.items()} == {
        (row.agent_id, row.state, row.code): row.seconds for row in time
    }
    csv_text = to_csv(build(counts, time, period="interval", by=("agent",), tz=UTC), ("agent",))
    header, *lines = csv_text.splitlines()
    assert header.startswith("period,agent,offered,answered,")
    assert header.endswith("logged_in,occupancy,time_available,time_away:break,time_busy")
    assert lines[1].startswith("2027-01-15T08:00+00:00,anna,0,1,1,0,0,1.0,30.0,0.0,1,90.0,0,5.0,")


async def test_days_are_the_sum_of_their_intervals_and_refresh_is_idempotent(
    store: Store,
) -> None:
    await write_known_day(store)
    reporter = Reporter(store.reports, lambda: CONFIG)
    await reporter.refresh(S + 900 + GRACE + 1)
    await reporter.refresh(S + 1800 + GRACE + 1)  # c2 completed at S+1000: the next interval
    await reporter.refresh(S + 1800 + GRACE + 1)  # again: the same figures, not doubled
    counts, time = await store.reports.stored(S - 86400, S + 86400)
    day = build(counts, time, period="day", by=("queue", "channel"), tz=UTC)
    rows = {(row["queue"], row["channel"]): row for row in day["rows"]}
    billing = rows[("billing", "chat")]
    assert billing["period"] == "2027-01-15"
    assert (billing["offered"], billing["answered"], billing["answered_within_sla"]) == (5, 3, 2)
    assert billing["service_level"] == round(2 / 4, 4)  # 3 answered + 2 abandoned - 1 short
    assert rows[("cards", "chat")]["handled"] == 1 and rows[("cards", "chat")]["aht"] == 680.0
    assert day["totals"]["handled"] == 4 and day["totals"]["offered"] == 5
    rome = build(counts, time, period="day", by=("channel",), tz=ZoneInfo("Europe/Rome"))
    assert [row["period"] for row in rome["rows"]] == ["2027-01-15"]


async def test_a_starting_router_closes_states_a_crash_left_open(store: Store) -> None:
    for agent, at, presence in (
        ("anna", S - 1000, "available"),
        ("bruno", S - 900, "available"),
        ("bruno", S - 800, "offline"),
        ("carla", S - 700, "away"),
    ):
        await store.apply(
            [AgentStateInsert({"agent_id": agent, "at": at, "kind": "state", "presence": presence})]
        )
    assert await store.reports.close_open_states(S + 100, "router started") == 2
    assert await store.reports.close_open_states(S + 200, "router started") == 0
    await Reporter(store.reports, lambda: CONFIG).refresh(S + 900 + GRACE + 1)
    _counts, time = await store.reports.stored(S, S + 900)
    assert {(row.agent_id, row.state): row.seconds for row in time} == {
        ("anna", "available"): 100.0,
        ("carla", "away"): 100.0,
    }


async def test_the_background_job_runs_by_itself(store: Store) -> None:
    await write_known_day(store)
    quick = CONFIG.model_copy(
        update={"reports": CONFIG.reports.model_copy(update={"refresh": 0.05})}
    )
    reporter = Reporter(store.reports, lambda: quick, clock=lambda: S + 900 + GRACE + 1)
    job = asyncio.create_task(reporter.run())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not (await store.reports.stored(S, S + 900))[0]:
            assert asyncio.get_running_loop().time() < deadline, "the job never ran"
            await asyncio.sleep(0.05)
    finally:
        job.cancel()
        await asyncio.gather(job, return_exceptions=True)
    assert await store.reports.done_until() == S + 900


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_worker_process_computes_the_figures_the_router_would(
    kind: str, tmp_path: Path
) -> None:
    """Out of the router's process (router/reports/figures.py), the same figures, and the
    job writes them as before."""
    async with database(kind, tmp_path) as url:
        store = await Store.open(url)
        worker = figures_for(url, store.reports)
        try:
            assert isinstance(worker, WorkerFigures)
            await write_known_day(store)
            now = S + 900 + GRACE + 1
            here = LocalFigures(store.reports)
            for start in (S - 900, S, S + 900):
                assert await worker(start, now, CONFIG) == await here(start, now, CONFIG)
            reporter = Reporter(store.reports, lambda: CONFIG, figures=worker)
            assert await reporter.refresh(now) == 4
            counts, time = await store.reports.stored(S, S + 900)
            (billing,) = build(counts, time, period="interval", by=("queue", "channel"), tz=UTC)[
                "rows"
            ]
            assert {k: billing[k] for k in BILLING_CHAT} == BILLING_CHAT
        finally:
            worker.close()
            await store.close()
