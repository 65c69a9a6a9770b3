"""Recorded contacts to replay: a CSV with one row per contact, in any order.

Columns (only ``arrival`` and ``channel`` are required):

- ``arrival``: seconds from the start (``29700``), a duration (``495m``) or a clock time
  (``08:15:00``, counted from midnight: replay a day with ``duration: 24h``);
- ``channel``, ``language``, ``intent``, ``text`` (triaged like live contacts) or
  ``urgency`` (0..1, as a provider would send);
- ``customer``: the same id for the same customer makes history routing work;
- ``handle_time``, ``patience``: what happened (else drawn from the scenario);
- ``resolved``: true/false (else drawn from the scenario's resolution_rate);
- ``outcome`` (``answered`` | ``abandoned``) and ``wait`` (seconds until answered or until
  the customer left): what was recorded, to check a replay against.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from router.durations import parse_duration
from skills.vocabulary import Channel, normalize_language


class TraceError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TraceRow:
    row: int
    arrival: float
    channel: Channel
    language: str | None = None
    intent: str = ""
    text: str = ""
    urgency: float | None = None
    customer: str = ""
    handle_time: float | None = None
    patience: float | None = None
    resolved: bool | None = None
    outcome: str = ""  # answered | abandoned | "" (not recorded)
    wait: float | None = None


def parse_clock(value: str) -> float:
    """``08:15``, ``08:15:30`` or ``8:15:30.5`` as seconds since midnight; else a duration."""
    if ":" not in value:
        return parse_duration(value)
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"expected hh:mm or hh:mm:ss, got {value!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = float(parts[2]) if len(parts) == 3 else 0.0
    if not (0 <= minutes < 60 and 0 <= seconds < 60 and hours >= 0):
        raise ValueError(f"not a clock time: {value!r}")
    return hours * 3600.0 + minutes * 60.0 + seconds


def _optional(row: dict[str, str], name: str) -> str:
    return (row.get(name) or "").strip()


def _row(number: int, row: dict[str, str]) -> TraceRow:
    def duration(name: str) -> float | None:
        cell = _optional(row, name)
        return parse_duration(cell) if cell else None

    urgency_cell = _optional(row, "urgency")
    urgency = float(urgency_cell) if urgency_cell else None
    if urgency is not None and not 0 <= urgency <= 1:
        raise ValueError("urgency must be between 0 and 1")
    resolved_cell = _optional(row, "resolved").lower()
    if resolved_cell not in ("", "true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"resolved: expected true or false, got {resolved_cell!r}")
    outcome = _optional(row, "outcome").lower()
    if outcome not in ("", "answered", "abandoned"):
        raise ValueError(f"outcome: expected answered or abandoned, got {outcome!r}")
    language = _optional(row, "language")
    return TraceRow(
        row=number,
        arrival=parse_clock(_optional(row, "arrival")),
        channel=Channel(_optional(row, "channel")),
        language=normalize_language(language) if language else None,
        intent=_optional(row, "intent"),
        text=row.get("text") or "",
        urgency=urgency,
        customer=_optional(row, "customer"),
        handle_time=duration("handle_time"),
        patience=duration("patience"),
        resolved=None if not resolved_cell else resolved_cell in ("true", "1", "yes"),
        outcome=outcome,
        wait=duration("wait"),
    )


@lru_cache(maxsize=8)
def read_trace(path: str) -> tuple[TraceRow, ...]:
    """Every row of a trace, sorted by arrival. Raises TraceError naming file and line."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = set(reader.fieldnames or ())
            missing = {"arrival", "channel"} - fields
            if missing:
                raise TraceError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rows = []
            for number, row in enumerate(reader, start=2):
                try:
                    rows.append(_row(number, row))
                except ValueError as exc:
                    raise TraceError(f"{path}:{number}: {exc}") from exc
    except OSError as exc:
        raise TraceError(f"cannot read {path}: {exc.strerror}") from exc
    return tuple(sorted(rows, key=lambda r: (r.arrival, r.row)))


def write_trace(path: str | Path, rows: list[TraceRow]) -> None:
    """Write contacts in the trace format (the simulator's own record of a day)."""
    names = [
        "arrival", "channel", "language", "intent", "text", "urgency", "customer",
        "handle_time", "patience", "resolved", "outcome", "wait",
    ]  # fmt: skip
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for r in rows:
            writer.writerow(
                [
                    repr(r.arrival),
                    r.channel.value,
                    r.language or "",
                    r.intent,
                    r.text,
                    "" if r.urgency is None else repr(r.urgency),
                    r.customer,
                    "" if r.handle_time is None else repr(r.handle_time),
                    "" if r.patience is None else repr(r.patience),
                    "" if r.resolved is None else str(r.resolved).lower(),
                    r.outcome,
                    "" if r.wait is None else repr(r.wait),
                ]
            )
