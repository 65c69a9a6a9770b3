"""Reports from the stored intervals: grouped by period (15-minute interval or day, in a
time zone) and by queue, channel and/or agent, with router/kpis.py's ratios; as JSON rows
or CSV."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from router.kpis import COUNT_FIELDS, Counts, occupancy
from router.store.schema import ReportAgentTimeRow, ReportIntervalRow

DIMENSIONS = ("queue", "channel", "agent")
Key = tuple[str, ...]


def period_label(start: float, period: str, tz: ZoneInfo) -> str:
    moment = datetime.fromtimestamp(start, tz)
    return moment.date().isoformat() if period == "day" else moment.isoformat(timespec="minutes")


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def figures(counts: Counts) -> dict[str, Any]:
    return {
        "offered": counts.offered,
        "answered": counts.answered,
        "answered_within_sla": counts.answered_within,
        "abandoned": counts.abandoned,
        "short_abandoned": counts.short_abandoned,
        "service_level": _round(counts.service_level, 4),
        "asa": _round(counts.asa, 3),
        "abandon_rate": _round(counts.abandon_rate, 4),
        "handled": counts.handled,
        "aht": _round(counts.aht, 3),
        "transfers": counts.transfers,
        "csat": _round(counts.csat, 3),
        "csat_satisfied": _round(counts.csat_satisfied_share, 4),
        "csat_responses": counts.csat_count,
        "nps": _round(counts.nps, 1),
        "nps_responses": counts.nps_count,
    }


def time_figures(time: dict[str, float]) -> dict[str, Any]:
    logged_in = sum(seconds for state, seconds in time.items() if state != "busy")
    return {
        "logged_in": round(logged_in, 3),
        "occupancy": _round(occupancy(time.get("busy", 0.0), logged_in), 4),
        "time": {state: round(seconds, 3) for state, seconds in sorted(time.items())},
    }


def build(
    counts_rows: Sequence[ReportIntervalRow],
    time_rows: Sequence[ReportAgentTimeRow],
    *,
    period: str,
    by: tuple[str, ...],
    tz: ZoneInfo,
) -> dict[str, Any]:
    """Rows per period and group, and the totals of the whole range. Time by state and
    occupancy come with grouping by agent alone (they belong to no queue or channel)."""
    groups: dict[Key, Counts] = defaultdict(Counts)
    times: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    total = Counts()
    for row in counts_rows:
        values = {"queue": row.queue, "channel": row.channel, "agent": row.agent_id}
        key = (period_label(row.start, period, tz), *(values[d] for d in by))
        counts = Counts(**{name: getattr(row, name) for name in COUNT_FIELDS})
        groups[key].merge(counts)
        total.merge(counts)
    with_time = by == ("agent",)
    if with_time:
        for spent in time_rows:
            key = (period_label(spent.start, period, tz), spent.agent_id)
            state = f"{spent.state}:{spent.code}" if spent.code else spent.state
            times[key][state] += spent.seconds
            groups.setdefault(key, Counts())
    rows = []
    for key in sorted(groups):
        row_out: dict[str, Any] = {"period": key[0], **dict(zip(by, key[1:], strict=True))}
        row_out.update(figures(groups[key]))
        if with_time:
            row_out.update(time_figures(dict(times.get(key, {}))))
        rows.append(row_out)
    return {"rows": rows, "totals": figures(total)}


def to_csv(report: dict[str, Any], by: tuple[str, ...]) -> str:
    states = sorted({state for row in report["rows"] for state in row.get("time", {})})
    metrics = list(figures(Counts()))
    header = ["period", *by, *metrics]
    if by == ("agent",):
        header += ["logged_in", "occupancy", *(f"time_{state}" for state in states)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in report["rows"]:
        line = [row["period"], *(row[d] for d in by), *(row[m] for m in metrics)]
        if by == ("agent",):
            line += [row["logged_in"], row["occupancy"]]
            line += [row["time"].get(state, 0.0) for state in states]
        writer.writerow(["" if value is None else value for value in line])
    return out.getvalue()
