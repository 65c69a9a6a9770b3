"""A replayed day against what was recorded that day, and the simulator's own record.

``recorded_kpis`` reads the outcomes a trace carries (``outcome``, ``wait``) into the same
KPIs as a simulated run, per channel, with the SLA threshold of the queue the replay routed
each contact to; ``format_replay_check`` prints both side by side. ``record_day`` turns a
finished simulation into a trace (what each contact brought and what happened to it), so a
replay of it can be checked against its record.
"""

from __future__ import annotations

from router.rules.model import RoutingConfig
from router.simulation.loop import Simulation
from router.simulation.metrics import ContactOutcome, Kpis, Report
from router.simulation.trace import TraceRow


def recorded_kpis(
    config: RoutingConfig, rows: tuple[TraceRow, ...], replay: Simulation
) -> dict[str, Kpis]:
    """Per channel ("all" too) KPIs of the rows whose outcome was recorded."""
    kpis: dict[str, Kpis] = {}
    for row in rows:
        if not row.outcome or row.wait is None:
            continue
        routed = replay.contacts.get(f"t{row.row}")
        queue = routed.queue if routed is not None else config.default_queue
        outcome = ContactOutcome(f"t{row.row}", queue, row.channel, row.arrival, 0.0, "")
        if row.outcome == "answered":
            outcome.answered_at = row.arrival + row.wait
        else:
            outcome.abandoned_at = row.arrival + row.wait
        threshold = config.sla_for(queue, row.channel).threshold
        for name in (row.channel.value, "all"):
            kpis.setdefault(name, Kpis()).add(outcome, threshold)
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


def record_day(simulation: Simulation) -> list[TraceRow]:
    """The contacts of a finished run as trace rows, with what happened to each."""
    rows = []
    for number, (contact_id, outcome) in enumerate(simulation.contacts.items(), start=2):
        caller = simulation.callers[contact_id]
        drawn = simulation.drawn[contact_id]
        state = ""
        if outcome.answered_at is not None:
            state = "answered"
        elif outcome.abandoned_at is not None:
            state = "abandoned"
        rows.append(
            TraceRow(
                row=number,
                arrival=outcome.arrival,
                channel=outcome.channel,
                language=caller.language,
                intent=caller.intent,
                text=caller.text,
                urgency=outcome.urgency,
                customer=outcome.customer,
                handle_time=drawn.handle_time,
                patience=drawn.patience,
                resolved=drawn.resolved,
                outcome=state,
                wait=outcome.time_in_queue,
            )
        )
    return rows
