"""What a trace says happened: its recorded outcomes as KPIs, to check a replay against.

A trace row with ``outcome`` and ``wait`` is counted like a simulated contact, per channel,
with the SLA threshold of the queue the replay routed it to.
"""

from __future__ import annotations

from router.rules.model import RoutingConfig
from router.simulation.metrics import ContactOutcome, Kpis, Report
from router.simulation.trace import TraceRow


def recorded_kpis(
    config: RoutingConfig, rows: tuple[TraceRow, ...], queues: dict[str, str]
) -> dict[str, Kpis]:
    """Per channel ("all" too) KPIs of the rows whose outcome was recorded."""
    kpis: dict[str, Kpis] = {}
    for row in rows:
        if not row.outcome or row.wait is None:
            continue
        queue = queues.get(f"t{row.row}", config.default_queue)
        outcome = ContactOutcome(f"t{row.row}", queue, row.channel, row.arrival, 0.0, "")
        if row.outcome == "answered":
            outcome.answered_at = row.arrival + row.wait
        else:
            outcome.abandoned_at = row.arrival + row.wait
        threshold = config.sla_for(queue, row.channel).threshold
        for name in (row.channel.value, "all"):
            kpis.setdefault(name, Kpis()).add(outcome, threshold, config.reports.short_abandon)
    return kpis


def format_replay_check(recorded: dict[str, Kpis], replayed: Report) -> str:
    header = f"{'channel':<10}{'':<10}{'offered':>8}{'SL':>8}{'ASA s':>8}{'aband.':>8}"
    lines = ["replay vs recorded", header, "-" * len(header)]
    for name, was in sorted(recorded.items(), key=lambda item: (item[0] == "all", item[0])):
        now = replayed.overall if name == "all" else replayed.channels.get(name, Kpis())
        for label, k in (("recorded", was), ("replayed", now)):
            lines.append(
                f"{name:<10}{label:<10}{k.offered:>8}{k.service_level:>8.1%}"
                f"{k.asa:>8.1f}{k.abandon_rate:>8.1%}"
            )
    return "\n".join(lines)
