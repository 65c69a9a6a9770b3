"""``GET /v1/reports``: interval and daily reports per queue, channel and agent, as JSON
or CSV. The figures are router/kpis.py's, aggregated by the background job
(router/reports/job.py), which runs once more before answering so the last minutes count."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from api.base.auth import require_supervisor
from router.reports.job import Reporter
from router.reports.query import DIMENSIONS, build, to_csv
from router.runtime import RouterRuntime

router = APIRouter(prefix="/v1", tags=["reports"])
MAX_DAYS = 92


def _bad(message: str) -> HTTPException:
    return HTTPException(422, message)


def parse_by(text: str) -> tuple[str, ...]:
    by = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [part for part in by if part not in DIMENSIONS]
    if not by or unknown or len(set(by)) != len(by):
        raise _bad(f"by: give one or more of {', '.join(DIMENSIONS)}, comma-separated")
    return tuple(d for d in DIMENSIONS if d in by)


def parse_day(text: str | None, what: str, default: date) -> date:
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _bad(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from None


@router.get("/reports", dependencies=[Depends(require_supervisor)], response_model=None)
async def reports(
    request: Request,
    period: Literal["interval", "day"] = Query("day", description="15-minute intervals or days"),
    start: str | None = Query(None, alias="from", description="first day, YYYY-MM-DD (today)"),
    end: str | None = Query(None, alias="to", description="last day, inclusive (= from)"),
    by: str = Query("queue,channel", description="queue, channel and/or agent"),
    tz: str | None = Query(None, max_length=64, description="time zone (config reports)"),
    format: Literal["json", "csv"] = Query("json"),
) -> dict[str, Any] | PlainTextResponse:
    runtime: RouterRuntime = request.app.state.runtime
    reporter: Reporter = request.app.state.reporter
    config = runtime.engine.config
    try:
        zone = ZoneInfo(tz or config.reports.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad(f"tz: unknown time zone {tz!r} (e.g. Europe/Rome, UTC)") from None
    groups = parse_by(by)
    today = datetime.fromtimestamp(runtime.clock(), zone).date()
    first = parse_day(start, "from", today)
    last = parse_day(end, "to", first)
    if last < first:
        raise _bad("to: must not be before from")
    if (last - first).days >= MAX_DAYS:
        raise _bad(f"at most {MAX_DAYS} days per report")
    begin = datetime.combine(first, time(), zone).timestamp()
    until = datetime.combine(last + timedelta(days=1), time(), zone).timestamp()
    await reporter.refresh()  # a StoreError: 503 with Retry-After (api/server/app.py)
    counts, spent = await runtime.store.reports.stored(begin, until)
    report = build(counts, spent, period=period, by=groups, tz=zone)
    if format == "csv":
        name = f"centralino-{period}-{first.isoformat()}-{last.isoformat()}.csv"
        return PlainTextResponse(
            to_csv(report, groups),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return {
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": zone.key,
        "by": list(groups),
        "short_abandon": config.reports.short_abandon,
        **report,
    }
