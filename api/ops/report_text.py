"""A report (GET /v1/reports) as a plain-text table for the terminal."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_report_table(report: dict[str, Any]) -> str:
    by: list[str] = report["by"]
    with_time = by == ["agent"]
    head = ["period", *by, "offered", "answered", "SL", "ASA s", "aband.", "short", "AHT s"]
    head += ["xfer", "CSAT", "NPS"] + (["occup."] if with_time else [])
    lines = [list(head)]
    for row in [*report["rows"], {"period": "total", **report["totals"]}]:
        line = [row["period"], *(str(row.get(d, "")) or "—" for d in by)]
        line += [str(row["offered"]), str(row["answered"]), _pct(row["service_level"])]
        line += [_num(row["asa"]), _pct(row["abandon_rate"]), str(row["short_abandoned"])]
        line += [_num(row["aht"]), str(row["transfers"]), _num(row["csat"], 2), _num(row["nps"])]
        if with_time:
            line.append(_pct(row.get("occupancy")))
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    title = (
        f"{report['period']} report {report['from']} – {report['to']} ({report['timezone']}), "
        f"short abandon < {report['short_abandon']:g} s"
    )
    rendered = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    return "\n".join([title, rendered[0], "-" * len(rendered[0]), *rendered[1:]])
