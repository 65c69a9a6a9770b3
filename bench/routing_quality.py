"""Routing quality on the simulator: same traffic and staffing, three ways of routing.

(a) FIFO with the longest-idle agent: skills still matched, but no rule priorities, no
    urgency or history boosts, no preferred agent, no bullseye rings;
(b) round robin: as (a), the agent offered longest ago gets the next contact;
(c) centralino's default rules (config.yaml).

    python bench/routing_quality.py [--scenario FILE] [--config FILE]

Targets (issue 7): p90 wait of high-urgency contacts at least halved versus FIFO, with the
overall service level within 2 points of FIFO's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.report import Report
from router.rules.loader import CompiledRule, RuleSet, load_rules
from router.rules.model import (
    ExpansionStep,
    HistoryBoosts,
    PreferredAgentSpec,
)
from router.scenario import load_scenario
from router.simulator import simulate

HERE = Path(__file__).resolve().parent


def plain(rules: RuleSet, agent_choice: str) -> RuleSet:
    """The same skills-based rules with every ordering refinement switched off."""
    config = rules.config
    specs = tuple(
        CompiledRule(
            rule.spec.model_copy(
                update={"priority": 0.0, "expansion": None, "preferred_agent": None}
            ),
            rule.program,
            rule.line,
        )
        for rule in rules.rules
    )
    flat = config.model_copy(
        update={
            "priority": config.priority.model_copy(
                update={
                    "urgency_weight": 0.0,
                    "history": HistoryBoosts(repeat_unresolved=0.0, per_transfer=0.0),
                }
            ),
            "preferred_agent": PreferredAgentSpec(policy="none"),
            "expansion": (ExpansionStep(after=0, min_proficiency=1),),
            "queues": {
                name: queue.model_copy(update={"expansion": None})
                for name, queue in config.queues.items()
            },
            "triage": config.triage.model_copy(update={"same_department": False}),
            "agent_choice": agent_choice,
        }
    )
    return RuleSet(config=flat, rules=specs, source=f"{rules.source} ({agent_choice}, FIFO)")


def row(name: str, report: Report) -> str:
    k = report.overall
    hit = "n/a" if report.preferred_hit_rate is None else f"{report.preferred_hit_rate:.1%}"
    return (
        f"{name:<28}{k.service_level:>8.1%}{k.asa:>8.1f}{k.abandon_rate:>9.1%}"
        f"{report.high_urgency_p90_wait:>12.1f}{report.transfers_per_contact:>11.3f}"
        f"{hit:>10}{report.occupancy:>8.1%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(HERE / "scenarios" / "peak.yaml"))
    parser.add_argument("--config", default=str(HERE.parent / "config.yaml"))
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    rules = load_rules(args.config)
    runs = {
        "(a) FIFO, longest idle": plain(rules, "longest_idle"),
        "(b) round robin": plain(rules, "round_robin"),
        "(c) centralino defaults": rules,
    }
    reports = {}
    started = time.perf_counter()
    for name, ruleset in runs.items():
        reports[name] = simulate(ruleset, scenario)
    print(
        f"{Path(args.scenario).name}: {reports['(c) centralino defaults'].overall.offered:,} "
        f"contacts, simulated in {time.perf_counter() - started:.0f} s"
    )
    print(
        f"{'':<28}{'SL':>8}{'ASA s':>8}{'aband.':>9}{'p90 urgent':>12}"
        f"{'transfers':>11}{'pref.hit':>10}{'occup.':>8}"
    )
    for name, report in reports.items():
        print(row(name, report))
    fifo, ours = reports["(a) FIFO, longest idle"], reports["(c) centralino defaults"]
    ratio = (
        ours.high_urgency_p90_wait / fifo.high_urgency_p90_wait
        if fifo.high_urgency_p90_wait
        else float("nan")
    )
    gap = (ours.overall.service_level - fifo.overall.service_level) * 100
    print(
        f"\nhigh-urgency p90 wait vs FIFO: x{ratio:.2f} (target <= 0.50: "
        f"{'met' if ratio <= 0.5 else 'NOT met'}); service level vs FIFO: {gap:+.1f} points "
        f"(target within 2: {'met' if abs(gap) <= 2 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
