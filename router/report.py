"""Simulator KPIs and their tables (kept as an import path): see router/simulation/."""

from router.simulation.metrics import ContactOutcome, Kpis, Report, build_report, percentile
from router.simulation.text import format_comparison, format_report

__all__ = [
    "ContactOutcome",
    "Kpis",
    "Report",
    "build_report",
    "format_comparison",
    "format_report",
    "percentile",
]
