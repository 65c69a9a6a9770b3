"""KPI tables for people: one run, two configs side by side, a replay against its record."""

from __future__ import annotations

from router.simulation.metrics import Kpis, Report, percentile


def format_report(report: Report, title: str = "") -> str:
    lines = [title] if title else []
    header = (
        f"{'queue/channel':<24}{'offered':>8}{'answered':>9}{'SL':>8}{'ASA s':>8}"
        f"{'aband.':>8}{'P(wait)':>8}{'p90 s':>8}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for (queue, channel), k in sorted(report.rows.items()):
        lines.append(_row(f"{queue}/{channel}", k))
    lines.append("-" * len(header))
    for channel, k in sorted(report.channels.items()):
        lines.append(_row(f"all {channel}", k))
    lines.append(_row("all", report.overall))
    hit = "n/a" if report.preferred_hit_rate is None else f"{report.preferred_hit_rate:.1%}"
    urgent = report.high_urgency
    lines.append(
        f"high urgency: {urgent.offered} contacts, p90 time in queue "
        f"{report.high_urgency_p90_wait:.1f} s (abandoned included), "
        f"abandonment {urgent.abandon_rate:.1%}"
    )
    lines.append(
        f"transfers/answered: {report.transfers_per_contact:.3f}   contacts/customer: "
        f"{report.contacts_per_customer:.3f} (repeats {report.repeat_share:.1%}, redials "
        f"{report.redial_share:.1%})   preferred-agent hits: {hit} "
        f"of {report.preferred_reachable}"
    )
    per_channel = "  ".join(
        f"{channel.value} {share:.1%}"
        for channel, share in report.usage.channel_occupancy().items()
    )
    lines.append(f"occupancy: {report.occupancy:.1%}   of channel capacity: {per_channel}")
    if report.estimate_errors:
        parts = [
            f"{name} median {e['median_abs_error']:.0f} s, p90 {e['p90_abs_error']:.0f} s"
            for name, e in [
                ("all", report.estimate_error()),
                *((c, report.estimate_error(c)) for c in sorted(report.estimate_errors)),
            ]
        ]
        lines.append(
            "wait estimate at arrival vs wait experienced (answered contacts), absolute "
            "error: " + "; ".join(parts) + " (queued: not offered at once)"
        )
    if report.warm_up > 0:
        lines.append(f"(the first {report.warm_up:.0f} s are a warm-up, not counted)")
    if report.recorded:
        from router.simulation.recorded import format_replay_check

        lines.append(format_replay_check(report.recorded, report))
    return "\n".join(lines)


def _row(name: str, k: Kpis) -> str:
    return (
        f"{name:<24}{k.offered:>8}{k.answered:>9}{k.service_level:>8.1%}{k.asa:>8.1f}"
        f"{k.abandon_rate:>8.1%}{k.p_wait:>8.1%}{percentile(k.waits, 0.9):>8.1f}"
    )


def comparison_rows(report: Report) -> list[tuple[str, float, str]]:
    k = report.overall
    return [
        ("service level", k.service_level, "{:.1%}"),
        ("ASA (s)", k.asa, "{:.1f}"),
        ("abandonment", k.abandon_rate, "{:.1%}"),
        ("P(wait)", k.p_wait, "{:.1%}"),
        ("p90 wait, high urgency (s)", report.high_urgency_p90_wait, "{:.1f}"),
        ("abandonment, high urgency", report.high_urgency.abandon_rate, "{:.1%}"),
        ("transfers per answered", report.transfers_per_contact, "{:.3f}"),
        ("contacts per customer", report.contacts_per_customer, "{:.3f}"),
        ("preferred-agent hits", report.preferred_hit_rate or 0.0, "{:.1%}"),
        ("occupancy", report.occupancy, "{:.1%}"),
    ]


def format_comparison(first: Report, second: Report, names: tuple[str, str]) -> str:
    """Two configs, same traffic (same keyed draws): the KPIs side by side."""
    width = max(len(names[0]), len(names[1]), 12) + 2
    lines = [f"{'':<28}{names[0]:>{width}}{names[1]:>{width}}"]
    for (label, x, fmt), (_, y, _) in zip(
        comparison_rows(first), comparison_rows(second), strict=True
    ):
        lines.append(f"{label:<28}{fmt.format(x):>{width}}{fmt.format(y):>{width}}")
    return "\n".join(lines)
